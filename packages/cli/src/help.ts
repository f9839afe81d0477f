/** Terms longer than this go on a line of their own, their text on the next, at the column. */
const MAX_TERM = 24;

/**
 * Help rows as two aligned columns: two spaces, the term, at least two spaces, the text. A
 * text's further lines (`\n`) start at the same column; a term too long for the column sits on
 * its own line with its text below. Every command's help is built from this, so a test can
 * check the columns of all of them.
 *
 * @example
 * ```ts
 * columns([["--server URL", "the server"], ["--headless", "paste a code"]]);
 * // "  --server URL  the server\n  --headless    paste a code\n"
 * ```
 */
export function columns(rows: readonly (readonly [term: string, text: string])[]): string {
  const width = Math.max(0, ...rows.map(([term]) => term.length).filter((n) => n <= MAX_TERM));
  const indent = " ".repeat(2 + width + 2);
  return rows
    .map(([term, text]) => {
      const [first = "", ...more] = text.split("\n");
      const head =
        term.length > width
          ? [`  ${term}`, `${indent}${first}`]
          : [`  ${term.padEnd(width)}  ${first}`];
      return `${[...head, ...more.map((line) => `${indent}${line}`)].join("\n")}\n`;
    })
    .join("");
}
