/**
 * Schemes a browser or an operating system acts on itself rather than handing the URL to an
 * installed app: a redirect to one would run script in some origin, read or fetch something
 * locally, open a browser-internal page, launch another browser, or start a system tool
 * (`ms-msdt:` was Follina). Names only; the URL parser has already lowercased them.
 */
const SPECIAL_SCHEMES = new Set([
  // script or content of their own
  "javascript",
  "vbscript",
  "livescript",
  "data",
  "blob",
  "filesystem",
  "about",
  "view-source",
  "jar",
  "mhtml",
  "mk",
  "res",
  "resource",
  "its",
  "hcp",
  // local files and other network protocols
  "file",
  "ftp",
  "ftps",
  "sftp",
  "smb",
  "gopher",
  "ws",
  "wss",
  // browser internals and browser launchers
  "intent",
  "android-app",
  "edge",
  "opera",
  "brave",
  "vivaldi",
  "devtools",
  "isolated-app",
  "googlechrome",
  "googlechromes",
  "firefox",
  "read",
  // system handlers that are not the asking app
  "search",
  "search-ms",
  "shell",
  "mailto",
  "tel",
  "sms",
  "itms-services",
]);

/** Families: `chrome-extension`, `microsoft-edge-holographic`, `x-safari-https`, `ms-msdt`, … */
const SPECIAL_PREFIXES = [
  "chrome",
  "microsoft-edge",
  "x-safari-",
  "safari-",
  "webkit-",
  "moz-",
  "ms-",
  "web+",
];

/**
 * Whether a callback's scheme is one browsers or systems treat specially (DESIGN invariant 4),
 * so it can never be a private-use app scheme (RFC 8252 §7.1).
 * @param protocol as `URL.protocol` gives it, e.g. `"javascript:"` (any case).
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.1
 * @example
 * isSpecialScheme("chrome-extension:"); // true
 * isSpecialScheme("com.example.app:"); // false
 */
export function isSpecialScheme(protocol: string): boolean {
  const name = protocol.toLowerCase().replace(/:$/, "");
  return SPECIAL_SCHEMES.has(name) || SPECIAL_PREFIXES.some((prefix) => name.startsWith(prefix));
}
