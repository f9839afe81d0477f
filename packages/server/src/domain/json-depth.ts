/**
 * How deep a request's JSON may nest. A real chat request with tool schemas stays well under
 * this; far deeper bodies only serve to exhaust recursion (in validation, or when a body is
 * re-serialised for an upstream).
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_ARRAY = 0x5b; // [
const OPEN_OBJECT = 0x7b; // {
const CLOSE_ARRAY = 0x5d; // ]
const CLOSE_OBJECT = 0x7d; // }
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Whether JSON text nests arrays and objects deeper than `maxDepth`, decided by one pass over the
 * text without parsing it or recursing, so it is safe to run before `JSON.parse` on any input.
 * Brackets inside strings do not count. On text that is not JSON the answer is only a bound;
 * `JSON.parse` refuses such text anyway.
 * @example
 * nestsDeeperThan('{"a":[[1]]}', 2); // true: three levels
 * nestsDeeperThan('{"a":"[[[["}', 2); // false: brackets in a string
 */
export function nestsDeeperThan(text: string, maxDepth = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}
