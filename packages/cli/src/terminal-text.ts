/**
 * What a terminal would act on rather than show: ESC sequences (CSI `ESC [ … final`, OSC
 * `ESC ] … BEL|ST`, DCS/SOS/PM/APC strings up to ST, and two-character `ESC x`), their 8-bit C1
 * forms (`\x9b`, `\x9d`, …), then any other C0 or C1 control or DEL, and the bidi embeddings,
 * overrides and isolates (U+202A–U+202E, U+2066–U+2069) plus the marks U+200E, U+200F, U+061C
 * that can make a line read differently from what it holds (Trojan Source, CVE-2021-42574).
 */
const SEQUENCES = new RegExp(
  [
    // CSI: ESC [ or 8-bit CSI, parameter and intermediate bytes, a final byte (or end of text).
    "(?:\\x1b\\[|\\x9b)[\\x20-\\x3f]*[\\x40-\\x7e]?",
    // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \ or 8-bit ST), or to the end.
    "(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d\\x9e\\x9f])[\\s\\S]*?(?:\\x07|\\x1b\\\\|\\x9c|$)",
    // Any other escape: ESC, intermediate bytes, one final byte.
    "\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]?",
  ].join("|"),
  "g",
);
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding controls is this module's job.
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A string that came from a server or the database, made safe to print on one line of a
 * terminal: escape sequences and controls are removed, and line breaks and tabs become spaces
 * (so a label cannot forge a line of output). DESIGN invariant 10.
 *
 * @example
 * ```ts
 * terminalText("\u001b]0;pwned\u0007\u001b[2Jlabel\u202e"); // "label"
 * terminalText("two\nlines"); // "two lines"
 * ```
 */
export function terminalText(value: unknown): string {
  return String(value)
    .replace(/[\t\n\v\f\r]/g, " ")
    .replace(SEQUENCES, "")
    .replace(CONTROLS, "");
}
