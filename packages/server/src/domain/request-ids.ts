import { pooledRandomBytes } from "./random-pool.js";

/**
 * A new request id: a UUID of version 7 (RFC 9562), its first 48 bits the time in milliseconds
 * and 74 of the rest random. Request records are keyed by it, so each new one goes at the end of
 * the table's primary-key index instead of onto a random page of it: a random page costs a write
 * of its own at every commit, and the index grows with every call.
 * @example
 * c.header("X-Request-Id", newRequestId());
 */
export function newRequestId(now: number = Date.now()): string {
  const bytes = pooledRandomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
