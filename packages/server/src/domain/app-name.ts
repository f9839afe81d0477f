/** The longest app name the consent page shows (`app_name` on `/auth`, a Keyport extension). */
const MAX_APP_NAME = 60;

/**
 * Control characters (C0, DEL, C1), bidi overrides and isolates, zero-width and other invisible
 * format characters: none of them belongs in a name, and bidi controls could reorder what the
 * user reads next to it.
 */
const INVISIBLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/**
 * The app's self-declared name as the consent page may show it: invisible and control
 * characters removed, runs of whitespace made one space, trimmed, and cut to
 * {@link MAX_APP_NAME} characters (code points) with an ellipsis. `undefined` when nothing is
 * left. The page always shows the callback's origin beside it, so a name cannot pass for
 * another site.
 * @example
 * appName("  My\u202eApp\n ") // "MyApp"
 */
export function appName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const clean = raw.normalize("NFC").replace(INVISIBLE, "").replace(/\s+/g, " ").trim();
  if (clean.length === 0) return undefined;
  const chars = [...clean];
  return chars.length <= MAX_APP_NAME ? clean : `${chars.slice(0, MAX_APP_NAME - 1).join("")}…`;
}
