import type { MiddlewareHandler } from "hono";
import { KeyportError } from "./errors.js";

/** What counts as this server's own origin. */
export interface SameOriginOptions {
  /** The configured public URL; its origin is always this server's. */
  readonly publicUrl: string;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** `Sec-Fetch-Site` values of a request this server's own pages (or the user) started. */
const OWN_SITES = new Set(["same-origin", "none"]);

/**
 * Refuses a cross-site form POST (DESIGN invariant 5) before it reaches the session: without it,
 * a hostile page's POST to `/signin` arrives without the `SameSite=Lax` cookie, is handed a
 * fresh anonymous one, and signs the victim out. A browser says where a request comes from in
 * `Sec-Fetch-Site` and `Origin`, which pages cannot forge; a request must be `same-origin` when
 * the first is sent, and from the public origin, or from the origin it was sent to (a loopback
 * alias such as `127.0.0.1` for `localhost`), when the second names one. `Origin: null` names
 * none: browsers send it for the pages' own forms, since they are served `no-referrer`, so it
 * leaves the answer to `Sec-Fetch-Site`. Clients that send neither header (scripts, the CLI) are
 * left to the CSRF token. Register it ahead of the session middleware.
 * @see https://www.w3.org/TR/fetch-metadata/#sec-fetch-site-header
 * @see https://www.rfc-editor.org/rfc/rfc6454#section-7
 * @example
 * pages.use(refuseCrossSite({ publicUrl: config.publicUrl }));
 * pages.use(browserSession(deps));
 */
export function refuseCrossSite(options: SameOriginOptions): MiddlewareHandler {
  const publicOrigin = new URL(options.publicUrl).origin;
  return async function refuseCrossSite(c, next) {
    if (SAFE_METHODS.has(c.req.method)) return next();
    const site = c.req.header("sec-fetch-site");
    const origin = c.req.header("origin");
    const foreignSite = site !== undefined && !OWN_SITES.has(site.toLowerCase());
    const foreignOrigin =
      origin !== undefined &&
      origin !== "null" &&
      origin !== publicOrigin &&
      origin !== new URL(c.req.url).origin;
    if (foreignSite || foreignOrigin) {
      throw new KeyportError(
        403,
        "This form was sent from another site, so it was refused. Open this site yourself and try again.",
      );
    }
    return next();
  };
}
