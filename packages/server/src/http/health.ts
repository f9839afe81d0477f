import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../web/context.js";
import { jsonError, KeyportError } from "../web/errors.js";

/** Longer than this without an answer from the database, and the instance is not ready. */
const READY_TIMEOUT_MS = 2_000;
const RETRY_AFTER_SECONDS = 5;

/**
 * `GET /healthz` (liveness: the process answers, whatever its database does) and `GET /readyz`
 * (readiness: the database answers a trivial query within two seconds; else `503` in
 * OpenRouter's error shape, so a load balancer stops sending traffic without the orchestrator
 * restarting a process that will recover by itself once the database is back).
 */
export function healthRoutes(deps: Pick<AppDeps, "store">) {
  const app = new Hono<AppEnv>();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const problem = await databaseProblem(deps.store);
    if (problem === undefined) return c.json({ status: "ok" });
    console.error(`keyport: not ready: ${problem}`);
    return jsonError(
      c,
      new KeyportError(503, "Database unavailable", { "Retry-After": String(RETRY_AFTER_SECONDS) }),
    );
  });
  return app;
}

/** Why the database did not answer, or `undefined` when it did. */
async function databaseProblem(store: AppDeps["store"]): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      store.ping().then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
