/**
 * The optimal-string-alignment distance between two strings: insertions, deletions,
 * substitutions and swaps of two neighbours each cost 1, so `lgoin` is 1 from `login`.
 *
 * @see https://en.wikipedia.org/wiki/Damerau%E2%80%93Levenshtein_distance
 * @example
 * ```ts
 * editDistance("whomai", "whoami"); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The known name a mistyped one most likely meant, or `undefined` when none is close: at most
 * 1 edit for names of up to 3 characters, 2 up to 6, 3 beyond; or a unique prefix of at least
 * 3 characters. Case is ignored; ties go to the first name listed.
 *
 * @example
 * ```ts
 * closestName("sever", ["server", "headless"]); // "server"
 * closestName("frobnicate", ["login", "logout"]); // undefined
 * ```
 */
export function closestName(typed: string, names: readonly string[]): string | undefined {
  const input = typed.toLowerCase();
  const allowed = input.length <= 3 ? 1 : input.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const distance = editDistance(input, name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= allowed && bestDistance < input.length) return best;
  const prefixed = names.filter((name) => name.toLowerCase().startsWith(input));
  return input.length >= 3 && prefixed.length === 1 ? prefixed[0] : undefined;
}

/** ` Did you mean "X"?` for a mistyped name, or "" when nothing is close. */
export function didYouMean(typed: string, names: readonly string[], show = (n: string) => n) {
  const name = closestName(typed, names);
  return name === undefined ? "" : ` Did you mean ${show(name)}?`;
}
