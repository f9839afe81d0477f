import { Redis } from "ioredis";
import pg from "pg";
import {
  type RateLimiterAbstract,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import type { Clock } from "../clock.js";
import {
  memoryRateLimits,
  type RateLimiter,
  type RateLimitName,
  type RateLimits,
  tooManyAttempts,
} from "./rate-limit.js";

/** The table rate-limiter-flexible keeps PostgreSQL counters in (created by the library). */
const TABLE = "keyport_rate_limits";
/** A counter the shared store does not answer within this long is counted in memory instead. */
const STORE_TIMEOUT_MS = 2_000;
/** At most one "store unreachable" warning per this long, however many requests fall back. */
const WARN_EVERY_MS = 10_000;

/** Rate limits every instance shares, and what to close when the server stops. */
export interface SharedRateLimits extends RateLimits {
  /** Where the counters live, for the start-up log: `postgresql` or `redis`. */
  readonly store: "postgresql" | "redis";
  close(): Promise<void>;
}

/** Where shared counters go: Redis when `redisUrl` is set, else PostgreSQL when `database` is. */
export interface SharedRateLimitOptions {
  /** The `--database` value; a `postgres://` URL keeps the counters there. */
  readonly database: string;
  readonly redisUrl: string | undefined;
  /** Prefix of every Redis key, so several deployments (or test runs) can share one Redis. */
  readonly redisPrefix: string;
  readonly clock: Clock;
}

/**
 * Opens the shared counters rate limits need once several instances serve one database: in
 * Redis when `redisUrl` is set, in PostgreSQL when the database is one; `undefined` otherwise
 * (one server per SQLite file counts in memory). Counting goes through rate-limiter-flexible.
 *
 * When the shared store cannot be reached (or answers slower than 2 s) each instance counts in
 * memory meanwhile and logs a warning: limits then hold per instance rather than not at all, so
 * an outage neither opens sign-in to brute force nor locks every client out.
 * @example
 * const limits = await openSharedRateLimits({ database, redisUrl, redisPrefix, clock });
 */
export async function openSharedRateLimits(
  options: SharedRateLimitOptions,
): Promise<SharedRateLimits | undefined> {
  if (options.redisUrl) return openRedis(options.redisUrl, options.redisPrefix, options.clock);
  if (/^postgres(ql)?:\/\//.test(options.database)) {
    return openPostgres(options.database, options.clock);
  }
  return undefined;
}

function openRedis(url: string, prefix: string, clock: Clock): SharedRateLimits {
  // Commands fail at once while disconnected (rather than queue), so a request falls back to the
  // in-memory count instead of waiting for Redis to return.
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: STORE_TIMEOUT_MS,
  });
  const warn = throttledWarning("Redis");
  redis.on("error", (error: Error) => warn(error));
  const limits = fallingBack(
    (name, perMinute) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}${name}`,
        points: perMinute,
        duration: 60,
        rejectIfRedisNotReady: true,
      }),
    clock,
    warn,
  );
  return {
    store: "redis",
    limit: limits,
    async close() {
      redis.disconnect();
    },
  };
}

async function openPostgres(url: string, clock: Clock): Promise<SharedRateLimits> {
  // Its own small pool, so counting never waits behind the store's queries (nor they behind it).
  const pool = new pg.Pool({
    connectionString: withoutCommitFlush(url),
    max: 4,
    connectionTimeoutMillis: STORE_TIMEOUT_MS,
    query_timeout: STORE_TIMEOUT_MS,
  });
  const warn = throttledWarning("PostgreSQL");
  pool.on("error", (error) => warn(error));
  pool.on("connect", (client) => {
    // As the store's pool does: a client cut while checked out must not take the process down.
    client.on("error", () => {});
  });
  // The table is created once, before the first request (concurrent starts are safe: the library
  // treats a duplicate-creation error as success).
  await new Promise<void>((resolve, reject) => {
    new RateLimiterPostgres(
      {
        storeClient: pool,
        storeType: "pool",
        tableName: TABLE,
        clearExpiredByTimeout: false,
        points: 1,
        duration: 60,
      },
      (error?: Error) => (error ? reject(error) : resolve()),
    );
  }).catch(async (error: unknown) => {
    await pool.end();
    throw error;
  });
  const limits = fallingBack(
    (name, perMinute) =>
      new RateLimiterPostgres({
        storeClient: pool,
        storeType: "pool",
        tableName: TABLE,
        tableCreated: true,
        // One instance sweeping would do; every instance doing it every five minutes is cheap.
        clearExpiredByTimeout: true,
        keyPrefix: name,
        points: perMinute,
        duration: 60,
      }),
    clock,
    warn,
  );
  return {
    store: "postgresql",
    limit: limits,
    close: () => pool.end(),
  };
}

/**
 * The URL with `synchronous_commit=off` added to its session options: a counter is not worth a
 * flush to disk per attempt (7× faster here); a database crash may forget the last few
 * milliseconds' counts, never corrupt them.
 */
function withoutCommitFlush(url: string): string {
  const parsed = new URL(url);
  const options = parsed.searchParams.get("options") ?? "";
  parsed.searchParams.set("options", `${options} -c synchronous_commit=off`.trim());
  return parsed.href;
}

/**
 * Limits counted in the shared store; when it fails, counted in this process's memory (bounded,
 * see `MemoryRateLimiter`) with a warning, until the store answers again.
 */
function fallingBack(
  shared: (name: RateLimitName, perMinute: number) => RateLimiterAbstract,
  clock: Clock,
  warn: (error: unknown) => void,
): RateLimits["limit"] {
  const memory = memoryRateLimits(clock);
  return (name, perMinute, what): RateLimiter => {
    const limiter = shared(name, perMinute);
    const local = memory.limit(name, perMinute, what);
    return {
      async hit(key) {
        try {
          await limiter.consume(key);
        } catch (error) {
          if (error instanceof RateLimiterRes) throw tooManyAttempts(what, error.msBeforeNext);
          warn(error);
          local.hit(key);
        }
      },
    };
  };
}

function throttledWarning(store: string): (error: unknown) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (error) => {
    const now = Date.now();
    if (now - last < WARN_EVERY_MS) return;
    last = now;
    const message = error instanceof Error ? error.message : String(error);
    console.error(
      `keyport: rate limits cannot reach ${store} (${message}); counting per instance meanwhile`,
    );
  };
}
