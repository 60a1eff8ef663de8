import { randomFillSync } from "node:crypto";

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let at = POOL_BYTES;

/**
 * `n` bytes (at most 256) from the OS CSPRNG, drawn from a pool refilled 4 KiB at a time — as
 * `crypto.randomUUID()` caches its entropy — so a request's ids and seed cost no call into the
 * kernel of their own. The bytes are copied out; no two callers ever get the same ones.
 */
export function pooledRandomBytes(n: number): Buffer {
  if (n > 256) throw new RangeError("pooledRandomBytes: at most 256 bytes");
  if (at + n > POOL_BYTES) {
    randomFillSync(pool);
    at = 0;
  }
  const out = Buffer.allocUnsafe(n);
  pool.copy(out, 0, at, at + n);
  // Wipe what was handed out, so the pool never holds a copy of anyone's bytes.
  pool.fill(0, at, at + n);
  at += n;
  return out;
}
