import { randomFillSync } from "node:crypto";

/** Bytes drawn from the CSPRNG at once: 128 keys' worth. */
const POOL_BYTES = 32 * 128;
const pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

/**
 * `size` bytes (at most {@link POOL_BYTES}) from the CSPRNG, drawn in batches as Node's own
 * `randomUUID()` does: one call into OpenSSL serves many keys, which showed in the exchange's
 * profile. Each byte is handed out once and the returned copy is the caller's own.
 */
export function pooledRandomBytes(size: number): Buffer {
  if (size > POOL_BYTES) throw new RangeError(`"size" must be at most ${POOL_BYTES}`);
  if (used + size > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const bytes = Buffer.from(pool.subarray(used, used + size));
  // Spent bytes are wiped, so the pool never holds a key that was handed out.
  pool.fill(0, used, used + size);
  used += size;
  return bytes;
}
