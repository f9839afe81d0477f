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
    c.header("Content-Security-Policy", [...BASE_POLICY, `form-action ${formActions}`].join("; "));
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Content-Type-Options", "nosniff");
  };
}
