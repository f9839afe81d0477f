import { isSpecialScheme } from "./callback-schemes.js";

/** Why a `callback_url` is refused; shown on the error page. */
export type CallbackRejection = string;

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const CUSTOM_SCHEME = /^[a-z][a-z0-9+\-.]*:$/;

/** What kind of app a callback belongs to, for the consent page's warning. */
type CallbackKind = "web" | "loopback" | "custom-scheme";

/** An accepted callback and what the consent page should say about it. */
export interface AcceptedCallback {
  readonly url: URL;
  readonly kind: CallbackKind;
  /** What the user is told is asking: the origin, or the scheme for custom-scheme apps. */
  readonly displayName: string;
}

/**
 * Applies DESIGN invariant 4 to an untrusted `callback_url`: absolute; `https`, `http` on a
 * loopback host only, or an app's custom scheme; never userinfo, a fragment, or a scheme that
 * browsers or systems act on themselves (see `isSpecialScheme`). `allowedPrefixes`, when non-empty, narrows it further.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.1
 */
export function checkCallbackUrl(
  raw: string,
  allowedPrefixes: readonly string[] = [],
): AcceptedCallback | { rejected: CallbackRejection } {
  if (raw.length > 2048) return { rejected: "callback_url is longer than 2048 characters." };
  if (!URL.canParse(raw) || /[\s\\]/.test(raw)) {
    return { rejected: "callback_url must be an absolute URL." };
  }
  const url = new URL(raw);
  if (isSpecialScheme(url.protocol)) {
    return { rejected: `callback_url may not use the ${url.protocol} scheme.` };
  }
  if (url.username || url.password || /^[^:]+:\/\/[^/?#]*@/.test(raw)) {
    return { rejected: "callback_url may not contain a user name or password." };
  }
  if (raw.includes("#")) return { rejected: "callback_url may not contain a fragment." };
  const kind = kindOf(url);
  if (!kind) {
    return { rejected: "callback_url must use https, or http on localhost, 127.0.0.1 or [::1]." };
  }
  if (allowedPrefixes.length > 0) {
    if (hasAmbiguousPath(raw)) {
      return {
        rejected:
          "callback_url may not contain dot segments, ';' parameters, or percent-encoded dots, slashes, backslashes or percent signs.",
      };
    }
    if (!allowedPrefixes.some((prefix) => isUnder(url, prefix))) {
      return { rejected: "callback_url is not one this server's operator allows." };
    }
  }
  const displayName = kind === "custom-scheme" ? url.protocol.slice(0, -1) : url.origin;
  return { url, kind, displayName };
}

/**
 * Whether `url` lies under an operator's allowed prefix, compared on parsed URLs: the same
 * scheme, host and port exactly, and the prefix's path up to a segment boundary — so
 * `https://app.example` does not admit `https://app.example.evil.net`, nor `…:5368` port `53682`.
 * A loopback prefix without a port admits any port, as RFC 8252 §7.3 asks of native apps.
 */
function isUnder(url: URL, prefix: string): boolean {
  if (!URL.canParse(prefix)) return false;
  const allowed = new URL(prefix);
  const anyPort = LOOPBACK_HOSTS.has(allowed.hostname) && allowed.port === "";
  const sameHost = anyPort ? url.hostname === allowed.hostname : url.host === allowed.host;
  if (url.protocol !== allowed.protocol || !sameHost) return false;
  const base = allowed.pathname;
  if (base === "" || base === "/") return true;
  return url.pathname === base || url.pathname.startsWith(base.endsWith("/") ? base : `${base}/`);
}

const AUTHORITY_AND_PATH = /^[a-z][a-z0-9+\-.]*:(?:\/\/([^/?#]*))?([^?#]*)/i;
// Encoded `.`, `/`, `\` and `%` (double encoding) read differently on the app's server.
const ENCODED_SEPARATOR = /%(?:2e|2f|5c|25)/i;

/**
 * Whether a raw callback's host or path could mean one thing here and another on the app's
 * server, the way the Keycloak redirect_uri bypasses did (CVE-2023-6134, CVE-2023-6291):
 * `.`/`..` segments, `;` path parameters (Tomcat reads `..;/` as `../`), or percent-encoded dots,
 * slashes, backslashes and percents. The query is the app's own and is not looked at.
 * @example
 * hasAmbiguousPath("https://app.example/callback/..;/evil"); // true
 */
function hasAmbiguousPath(raw: string): boolean {
  const [, authority = "", path = ""] = AUTHORITY_AND_PATH.exec(raw) ?? [];
  if (authority.includes("%")) return true;
  if (path.includes(";") || ENCODED_SEPARATOR.test(path)) return true;
  return path.split("/").some((segment) => segment === "." || segment === "..");
}

function kindOf(url: URL): CallbackKind | undefined {
  if (url.protocol === "https:") return url.hostname ? "web" : undefined;
  if (url.protocol === "http:") return LOOPBACK_HOSTS.has(url.hostname) ? "loopback" : undefined;
  return CUSTOM_SCHEME.test(url.protocol) ? "custom-scheme" : undefined;
}

/**
 * The callback with `params` added to its own query (RFC 6749 §4.1.2 keeps the existing query).
 * @example
 * withQuery(new URL("https://app.example/cb?x=1"), { code: "abc" }); // https://app.example/cb?x=1&code=abc
 */
export function withQuery(callback: URL, params: Record<string, string | undefined>): string {
  const url = new URL(callback.href);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.set(name, value);
  }
  return url.href;
}
