import { terminalText } from "./terminal-text.js";

/**
 * Rows as a table of aligned columns, two spaces apart; the last column is not padded (it may
 * hold free text such as a key's name). Every cell goes through `terminalText` first, so a
 * value from the database can neither move the cursor nor break a line, and widths count what
 * is shown.
 *
 * @example
 * ```ts
 * table([["HASH", "NAME"], ["ab12", "my key"]]); // "HASH  NAME\nab12  my key\n"
 * ```
 */
export function table(rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((row) => row.map((cell) => terminalText(cell)));
  const widths: number[] = [];
  for (const row of cells) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return cells
    .map((row) =>
      row
        .map((cell, i) =>
          i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - [...cell].length),
        )
        .join("  ")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}
