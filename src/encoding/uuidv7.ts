/**
 * UUIDv7 (RFC 9562 §5.7): 48-bit Unix time in milliseconds, version 7, 12 bits of counter,
 * variant 0b10, 62 random bits. Ids made by one process are strictly increasing (RFC 9562 §6.2
 * method 1, a 12-bit counter seeded at random each millisecond; on overflow the timestamp is
 * advanced), so decision ids sort in the order they were issued.
 */
import { pooledRandomBytes as randomBytes } from "./random-pool.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let lastMs = -1;
let counter = 0;

/** A new UUIDv7 string (lowercase). `nowMs` is injectable for tests. */
export function uuidv7(nowMs: number = Date.now()): string {
  let ms = Math.floor(nowMs);
  if (ms > lastMs) {
    // Leave headroom: seed the counter in the lower half of its 12 bits.
    counter = randomBytes(2).readUInt16BE(0) & 0x7ff;
  } else {
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      ms++;
      counter = randomBytes(2).readUInt16BE(0) & 0x7ff;
    }
  }
  lastMs = ms;
  const b = randomBytes(16);
  // 48-bit big-endian timestamp.
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function isUuidv7(id: string): boolean {
  return UUID_V7.test(id);
}

/** The Unix time in milliseconds a UUIDv7 carries. */
export function uuidv7Time(id: string): number {
  if (!isUuidv7(id)) throw new TypeError(`not a UUIDv7: ${id}`);
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
