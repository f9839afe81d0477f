/**
 * SQLite result codes (better-sqlite3 reports extended ones, e.g. `SQLITE_IOERR_WRITE`, so these
 * are matched as prefixes) that mean the storage, not the request, failed: a full disk, an I/O
 * error, a lock held too long, a file that went away or became read-only.
 */
const SQLITE_FAULTS = [
  "SQLITE_FULL",
  "SQLITE_IOERR",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_CANTOPEN",
  "SQLITE_READONLY",
  "SQLITE_NOMEM",
  "SQLITE_PROTOCOL",
];

/**
 * PostgreSQL SQLSTATEs of the same kind: class 08 (connection exception) and 53 (insufficient
 * resources: `53100` disk full, too many connections) by class, then a shutdown or restarting
 * server, an I/O error, and a standby that took over read-only.
 * @see https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
const POSTGRES_CLASSES = ["08", "53"];
const POSTGRES_CODES = ["57P01", "57P02", "57P03", "58030", "25006"];

/** System errors of a disk or of a connection to the database server. */
const SYSTEM_CODES = [
  "ENOSPC",
  "EDQUOT",
  "EIO",
  "EROFS",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
];

/** What `pg` throws, without a code, when a connection drops or cannot be had in time. */
const POSTGRES_CONNECTION_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error/,
];

/**
 * Whether `error` is a fault of the storage (full disk, I/O error, lost or refused database
 * connection) rather than of the request or of Keyport: the answer to it is a `503` that lets the
 * client retry, and the service comes back by itself once the storage does. Looks through
 * `cause` a few levels deep, since a wrapper may carry the driver's error.
 * @example
 * isStorageFault(Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" })); // true
 */
export function isStorageFault(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (isFaultCode((current as { code?: unknown }).code)) return true;
    if (POSTGRES_CONNECTION_MESSAGES.some((pattern) => pattern.test((current as Error).message)))
      return true;
    current = current.cause;
  }
  return false;
}

function isFaultCode(code: unknown): boolean {
  if (typeof code !== "string") return false;
  if (SYSTEM_CODES.includes(code)) return true;
  if (code.startsWith("SQLITE_")) return SQLITE_FAULTS.some((fault) => code.startsWith(fault));
  // A SQLSTATE: five characters.
  return (
    code.length === 5 &&
    (POSTGRES_CLASSES.includes(code.slice(0, 2)) || POSTGRES_CODES.includes(code))
  );
}
