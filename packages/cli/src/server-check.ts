/** How long a server has to answer the check before `login` gives up on it. */
const SERVER_CHECK_TIMEOUT_MS = 5000;

/**
 * Checks that `server` answers HTTP before anyone opens a browser for it: `GET /api/v1/models`
 * (public on Keyport and OpenRouter) within `timeoutMs`. Resolves `undefined` when it answered,
 * else what went wrong, in words: refused, not found, silent, or an error status.
 *
 * @example
 * ```ts
 * const problem = await serverProblem("http://localhost:8787");
 * if (problem) console.error(`keyport login: ${problem}`);
 * ```
 */
export async function serverProblem(
  server: string,
  timeoutMs = SERVER_CHECK_TIMEOUT_MS,
): Promise<string | undefined> {
  const url = `${server}/api/v1/models`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: "application/json" },
      redirect: "follow",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      return `${server} did not answer within ${timeoutMs / 1000} s. Check --server, and that the server is up.`;
    }
    return `could not reach ${server} (${causeText(error)}). Check --server, and that the server is up.`;
  }
  // Only the status matters; the body is not wanted.
  await response.body?.cancel().catch(() => undefined);
  if (response.status === 404) {
    return `${server} is not a Keyport or OpenRouter server (GET /api/v1/models answered 404). Check --server.`;
  }
  if (response.status >= 500) {
    return `${server} is failing (GET /api/v1/models answered HTTP ${response.status}). Try again later.`;
  }
  return undefined;
}

/** The innermost reason `fetch` gave: `ECONNREFUSED`, `ENOTFOUND`, `bad port`, … */
export function causeText(error: unknown): string {
  let reason: unknown = error;
  while (reason instanceof Error && reason.cause instanceof Error) reason = reason.cause;
  const code = (reason as { code?: unknown }).code;
  return typeof code === "string" ? code : String((reason as Error).message ?? reason);
}
