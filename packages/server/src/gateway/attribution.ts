import type { Context } from "hono";

/** The longest `HTTP-Referer` kept (characters). */
const MAX_REFERER = 512;
/** The longest app title kept (characters). */
const MAX_TITLE = 128;

/** The app a call is attributed to, from its OpenRouter attribution headers. */
export interface Attribution {
  /** `HTTP-Referer`: the app's URL. */
  readonly httpReferer: string | null;
  /** `X-Title`, else `X-OpenRouter-Title`: the app's name. */
  readonly appTitle: string | null;
}

/**
 * Reads a call's attribution headers, sanitized: control and bidi characters dropped, blanks
 * collapsed, cut to a bounded length; an empty result is `null`.
 */
export function attributionOf(c: Context): Attribution {
  return {
    httpReferer: clean(c.req.header("http-referer"), MAX_REFERER),
    appTitle: clean(c.req.header("x-title") ?? c.req.header("x-openrouter-title"), MAX_TITLE),
  };
}

/**
 * The headers an OpenRouter upstream gets for the attribution (its own names), so the app
 * shows in the operator's OpenRouter activity too.
 */
export function attributionHeaders(attribution: Attribution): Record<string, string> {
  const headers: Record<string, string> = {};
  const referer = ascii(attribution.httpReferer);
  const title = ascii(attribution.appTitle);
  if (referer) headers["http-referer"] = referer;
  if (title) {
    headers["x-title"] = title;
    headers["x-openrouter-title"] = title;
  }
  return headers;
}

/** Unicode controls (C0, DEL, C1) and bidi overrides/isolates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing controls is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function clean(value: string | undefined, max: number): string | null {
  if (value === undefined) return null;
  const text = [...value.replace(UNSAFE, "").replace(/\s+/g, " ").trim()].slice(0, max).join("");
  return text === "" ? null : text;
}

/** A header value an upstream can take: printable ASCII only. */
function ascii(value: string | null): string {
  return (value ?? "").replace(/[^\x20-\x7e]/g, "").trim();
}
