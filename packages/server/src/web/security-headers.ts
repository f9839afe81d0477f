import type { MiddlewareHandler } from "hono";

const BASE_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
];

/**
 * DESIGN invariant 5 for every response: no framing, no referrer, a strict CSP. `form-action`
 * is `'self'` unless a handler widened it (the consent form redirects to the app's callback).
 */
export function securityHeaders(): MiddlewareHandler<{ Variables: { formActions?: string[] } }> {
  return async function securityHeaders(c, next) {
    await next();
    const formActions = ["'self'", ...(c.get("formActions") ?? [])].join(" ");
    const headers = {
      "Content-Security-Policy": [...BASE_POLICY, `form-action ${formActions}`].join("; "),
      "X-Frame-Options": "DENY",
      "Referrer-Policy": "no-referrer",
      "X-Content-Type-Options": "nosniff",
    };
    // Set on the response's own headers: `c.header()` after the handler rebuilds the response
    // around its body (a web ReadableStream, even for a string), which costs every response.
    try {
      const target = c.res.headers;
      for (const [name, value] of Object.entries(headers)) target.set(name, value);
    } catch {
      // immutable headers (a `Response.redirect()`, a fetched response): rebuild after all
      for (const [name, value] of Object.entries(headers)) c.header(name, value);
    }
  };
}
