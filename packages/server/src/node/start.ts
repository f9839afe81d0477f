import type { Server, ServerOptions } from "node:http";
import { type ServerType, serve } from "@hono/node-server";
import type { Logger } from "pino";
import { createApp } from "../app.js";
import { type Clock, systemClock } from "../clock.js";
import type { KeyportConfig } from "../config/config.js";
import { randomToken } from "../domain/secrets.js";
import { lockDatabaseFile, type ServerLock } from "../store/file-lock.js";
import { isPostgresUrl, openStore } from "../store/open.js";
import type { Store } from "../store/store.js";
import { Metrics } from "../web/metrics.js";
import { openSharedRateLimits } from "../web/shared-rate-limit.js";
import { loosePermissionsWarning, privatePaths } from "./file-modes.js";
import { type MetricsServer, startMetricsServer } from "./metrics-server.js";

/** A running Keyport server. */
export interface RunningServer {
  /** Where it listens, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  /** Where `GET /metrics` is served apart (`KEYPORT_METRICS_PORT`), when it is. */
  readonly metricsUrl: string | undefined;
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>;
}

/** What a server is started with besides its configuration. */
export interface StartOptions {
  /** Where the request log goes (e.g. {@link stdoutLogger}); none when absent. */
  readonly logger?: Logger;
}

/**
 * Opens the database (running migrations), and serves the app on the configured host and port.
 * @example
 * const server = await startServer(parseConfig({ port: 0, database: ":memory:" }));
 * await server.close();
 */
export async function startServer(
  config: KeyportConfig,
  clock: Clock = systemClock,
  options: StartOptions = {},
): Promise<RunningServer> {
  // Before anything touches the file: a second server's start-up release below would free the
  // reservations of the first one's live requests.
  const lock = takesFileLock(config.database) ? lockDatabaseFile(config.database) : undefined;
  let store: Store | undefined;
  try {
    store = await openStore(config.database);
    const warning = loosePermissionsWarning(privatePaths(config, lock?.path));
    if (warning) console.error(warning);
    return await serveStore(config, clock, store, lock, options);
  } catch (error) {
    await store?.close();
    lock?.release();
    throw error;
  }
}

/** A SQLite file has one server process; `:memory:` is private anyway, PostgreSQL is shared. */
function takesFileLock(database: string): boolean {
  return database !== ":memory:" && !isPostgresUrl(database);
}

async function serveStore(
  config: KeyportConfig,
  clock: Clock,
  store: Store,
  lock: ServerLock | undefined,
  options: StartOptions,
): Promise<RunningServer> {
  // A SQLite file has one server process (the lock above): what is reserved at its start belongs
  // to requests that died with the previous one. (Instances sharing PostgreSQL cannot know that;
  // see README.)
  if (!isPostgresUrl(config.database)) {
    const released = await store.releaseReservations(clock());
    if (released > 0)
      console.error(`Released the reservations of ${released} key(s) left by a crash`);
  }
  // An operator's secret (KEYPORT_SECRET, KEYPORT_SECRET_FILE) stays out of the database.
  const secret = config.secret ?? (await store.secret("csrf", () => randomToken()));
  // Instances that share a database share their rate limits (Redis or PostgreSQL counters). Those
  // count on the wall clock; a server given another clock (a test's) counts in memory on it.
  const rateLimits =
    clock === systemClock ? await openSharedRateLimits({ ...config, clock }) : undefined;
  const metrics = new Metrics();
  const app = createApp({
    config,
    store,
    clock,
    secret,
    rateLimits,
    logger: options.logger,
    metrics,
  });
  let server: ServerType;
  let metricsServer: MetricsServer | undefined;
  try {
    server = await listen(app.fetch, config);
    try {
      if (config.metrics.port !== undefined)
        metricsServer = await startMetricsServer(config, metrics);
    } catch (error) {
      await stopListening(server, 0);
      throw error;
    }
  } catch (error) {
    await rateLimits?.close();
    throw error;
  }
  const sweeper = sweepExpired(store, clock, config.gateway.leaseMs);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    store,
    metricsUrl: metricsServer?.url,
    close() {
      closing ??= (async () => {
        await sweeper();
        await metricsServer?.close();
        await stopListening(server, config.shutdownGraceMs);
        // Closing the store waits for requests cut at the deadline to settle what they used.
        await store.close();
        await rateLimits?.close();
        lock?.release();
      })();
      return closing;
    },
  };
}

function listen(fetch: (request: Request) => Response | Promise<Response>, config: KeyportConfig) {
  const serverOptions: ServerOptions = {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // Node looks for overdue requests only this often (30 s by default), which would let a slow
    // client hold its connection well past the deadline.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, config.headersTimeoutMs / 4)),
  };
  return new Promise<ServerType>((resolve, reject) => {
    const server = serve({ fetch, port: config.port, hostname: config.host, serverOptions }, () =>
      resolve(server),
    );
    server.once("error", reject);
  });
}

/**
 * Stops accepting connections and waits for in-flight requests (a stream included) to finish;
 * after `graceMs` the connections still open are closed, so a stuck client cannot hold the
 * shutdown forever.
 */
function stopListening(server: ServerType, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const http = server as Server;
    const force = setTimeout(() => http.closeAllConnections(), graceMs);
    // Keep-alive connections whose last request finishes after this point would otherwise hold
    // the shutdown until the client drops them.
    const idle = setInterval(() => http.closeIdleConnections(), 50);
    http.close(() => {
      clearTimeout(force);
      clearInterval(idle);
      resolve();
    });
    http.closeIdleConnections();
  });
}

const SWEEP_EVERY_MS = 10 * 60_000;
/** A replay a day after a code expired still revokes the key it minted. */
const KEEP_EXPIRED_CODES_MS = 24 * 60 * 60_000;

/**
 * Deletes expired sessions and codes now and every ten minutes, so the tables do not grow
 * forever; and ends expired reservation leases every third of a lease, so a crashed instance's
 * reservations come back (its streams billed to their last checkpoint) within about a lease and
 * a third. Returns the stop.
 */
function sweepExpired(store: Store, clock: Clock, leaseMs: number): () => Promise<void> {
  const sweep = () => {
    store.deleteExpired(clock(), KEEP_EXPIRED_CODES_MS).catch((error: unknown) => {
      console.error("Deleting expired sessions and codes failed:", error);
    });
  };
  let expiring: Promise<void> | undefined;
  const expire = () => {
    expiring ??= store
      .expireLeases(clock())
      .then((ended) => {
        if (ended > 0) console.error(`Ended ${ended} expired reservation lease(s)`);
      })
      .catch((error: unknown) => console.error("Ending expired reservation leases failed:", error))
      .finally(() => {
        expiring = undefined;
      });
  };
  sweep();
  expire();
  const sweeps = setInterval(sweep, SWEEP_EVERY_MS).unref();
  const expiries = setInterval(expire, Math.max(100, leaseMs / 3)).unref();
  return async () => {
    clearInterval(sweeps);
    clearInterval(expiries);
    await expiring;
  };
}
