import { isStorageFault } from "../store/storage-fault.js";
import { KeyportError } from "./errors.js";

/** How long a client is asked to wait before retrying after a storage fault. */
const STORAGE_RETRY_AFTER_SECONDS = 5;

/**
 * Turns a storage fault (a full disk, an I/O error, a lost database connection) into the answer
 * DESIGN invariant 9 asks for: a `503` with `Retry-After` and a message without internals, while
 * the fault itself goes to the server log in one line. Any other error is returned unchanged.
 * Nothing is kept in a broken state, so the next request after the storage recovers succeeds.
 * @example
 * app.onError((error, c) => jsonError(c, answerStorageFault(error)));
 */
export function answerStorageFault(error: unknown): unknown {
  if (!isStorageFault(error)) return error;
  const { code, message } = error as Error & { code?: unknown };
  console.error(
    `keyport: storage fault answered with 503 (${String(code ?? "no code")}): ${message}`,
  );
  return new KeyportError(503, "Service temporarily unavailable. Try again shortly.", {
    "Retry-After": String(STORAGE_RETRY_AFTER_SECONDS),
  });
}
