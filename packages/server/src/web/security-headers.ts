import type { MiddlewareHandler } from "hono";

const BASE_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "frame-ancestors 'none'",
];

/** The headers every response carries as they are. */
const FIXED_HEADERS: readonly (readonly [string, string])[] = [
  ["X-Frame-Options", "DENY"],
  ["Referrer-Policy", "no-referrer"],
  ["X-Content-Type-Options", "nosniff"],
];

/** What the pages may run besides nothing. */
export interface SecurityHeadersOptions {
  /** CSP hash sources of the inline scripts the pages carry; without any, no script runs. */
  readonly scriptSources?: readonly string[];
}

/**
 * DESIGN invariant 5 for every response: no framing, no referrer, a strict CSP. `form-action`
 * is `'self'` unless a handler widened it (the consent form redirects to the app's callback).
 * Scripts run only when their hash is listed (`script-src 'sha256-…'`), never `'unsafe-inline'`.
 * @example
 * app.use(securityHeaders({ scriptSources: [CONSENT_SCRIPT_SOURCE] }));
 */
export function securityHeaders(
  options: SecurityHeadersOptions = {},
): MiddlewareHandler<{ Variables: { formActions?: string[] } }> {
  const scripts = options.scriptSources ?? [];
  const policy = (
    scripts.length > 0 ? [...BASE_POLICY, `script-src ${scripts.join(" ")}`] : BASE_POLICY
  ).join("; ");
  // Built once: almost every response has no form action of its own.
  const selfOnly = `${policy}; form-action 'self'`;
  return async function securityHeaders(c, next) {
    await next();
    const formActions = c.get("formActions");
    const csp =
      formActions && formActions.length > 0
        ? `${policy}; form-action 'self' ${formActions.join(" ")}`
        : selfOnly;
    // Set on the response's own headers: `c.header()` after the handler rebuilds the response
    // around its body (a web ReadableStream, even for a string), which costs every response.
    try {
      const target = c.res.headers;
      target.set("Content-Security-Policy", csp);
      for (const [name, value] of FIXED_HEADERS) target.set(name, value);
    } catch {
      // immutable headers (a `Response.redirect()`, a fetched response): rebuild after all
      c.header("Content-Security-Policy", csp);
      for (const [name, value] of FIXED_HEADERS) c.header(name, value);
    }
  };
}
