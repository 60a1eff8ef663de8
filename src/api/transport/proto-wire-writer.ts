import { ScalarType } from "@bufbuild/protobuf";

/**
 * The protobuf wire writer of ./proto-encode.ts: one scratch buffer (reused: encoding is
 * synchronous), varints, length prefixes guessed and moved when short, strings written in place,
 * and every scalar type's value writer with the checks that send a value of the wrong type to
 * protobuf-es (`UNSUPPORTED`).
 */
class Unsupported extends Error {}
export const UNSUPPORTED = new Unsupported();

let buf = Buffer.allocUnsafe(16 * 1024);
/** A scratch buffer grown past this for one large message is not kept. */
const MAX_SCRATCH = 1024 * 1024;
let pos = 0;

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  const next = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + n));
  buf.copy(next, 0, 0, pos);
  buf = next;
}

function varint(v: number): void {
  ensure(5);
  while (v > 127) {
    buf[pos++] = (v & 127) | 128;
    v >>>= 7;
  }
  buf[pos++] = v;
}

function varint64(v: bigint): void {
  let u = BigInt.asUintN(64, v);
  ensure(10);
  while (u > 127n) {
    buf[pos++] = Number(u & 127n) | 128;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
}

const varintSize = (v: number) => (v < 128 ? 1 : v < 16384 ? 2 : v < 2097152 ? 3 : v < 268435456 ? 4 : 5);

/** Length-delimited: `body` writes at a guessed prefix, moved if the guess was short. */
export function delimited(body: () => void, guess = 1): void {
  ensure(guess);
  const start = pos;
  pos += guess;
  body();
  const len = pos - start - guess;
  const size = varintSize(len);
  if (size !== guess) {
    ensure(size - guess);
    buf.copyWithin(start + size, start + guess, pos);
    pos += size - guess;
  }
  const end = pos;
  pos = start;
  varint(len);
  pos = end;
}

export function writeString(s: string): void {
  const n = s.length;
  if (n < 43) {
    ensure(1 + n * 3);
    const start = pos++;
    const w = buf.write(s, pos);
    buf[start] = w;
    pos += w;
    return;
  }
  const w = Buffer.byteLength(s, "utf8");
  varint(w);
  ensure(w);
  pos += buf.write(s, pos);
}

const int64Of = (v: unknown): bigint => {
  if (typeof v === "bigint" && BigInt.asIntN(64, v) === v) return v;
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  throw UNSUPPORTED;
};
const uint64Of = (v: unknown): bigint => {
  if (typeof v === "bigint" && BigInt.asUintN(64, v) === v) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw UNSUPPORTED;
};
const isInt32 = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;
const isUint32 = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

type Scalar = (v: unknown) => void;
const WIRE_VARINT = 0;
const WIRE_64 = 1;
export const WIRE_LEN = 2;
const WIRE_32 = 5;

function fixed32(v: number): void {
  ensure(4);
  buf.writeUInt32LE(v >>> 0, pos);
  pos += 4;
}

/** The value writer of a scalar type (without its tag), and its wire type. */
export function scalarWriter(t: ScalarType): [Scalar, number] {
  switch (t) {
    case ScalarType.STRING:
      return [(v) => (typeof v === "string" ? writeString(v) : unsupported()), WIRE_LEN];
    case ScalarType.BYTES:
      return [
        (v) => {
          if (!(v instanceof Uint8Array)) throw UNSUPPORTED;
          varint(v.byteLength);
          ensure(v.byteLength);
          buf.set(v, pos);
          pos += v.byteLength;
        },
        WIRE_LEN,
      ];
    case ScalarType.BOOL:
      return [(v) => (typeof v === "boolean" ? varint(v ? 1 : 0) : unsupported()), WIRE_VARINT];
    case ScalarType.INT32:
      return [
        (v) => {
          if (!isInt32(v)) throw UNSUPPORTED;
          if (v >= 0) varint(v);
          else varint64(BigInt(v));
        },
        WIRE_VARINT,
      ];
    case ScalarType.UINT32:
      return [(v) => (isUint32(v) ? varint(v) : unsupported()), WIRE_VARINT];
    case ScalarType.SINT32:
      return [(v) => (isInt32(v) ? varint(((v << 1) ^ (v >> 31)) >>> 0) : unsupported()), WIRE_VARINT];
    case ScalarType.FIXED32:
      return [(v) => (isUint32(v) ? fixed32(v) : unsupported()), WIRE_32];
    case ScalarType.SFIXED32:
      return [(v) => (isInt32(v) ? fixed32(v) : unsupported()), WIRE_32];
    case ScalarType.FLOAT:
      return [
        (v) => {
          if (typeof v !== "number" || (Number.isFinite(v) && Math.abs(v) > 3.4028234663852886e38))
            throw UNSUPPORTED;
          ensure(4);
          buf.writeFloatLE(v, pos);
          pos += 4;
        },
        WIRE_32,
      ];
    case ScalarType.DOUBLE:
      return [
        (v) => {
          if (typeof v !== "number") throw UNSUPPORTED;
          ensure(8);
          buf.writeDoubleLE(v, pos);
          pos += 8;
        },
        WIRE_64,
      ];
    case ScalarType.INT64:
      return [(v) => varint64(int64Of(v)), WIRE_VARINT];
    case ScalarType.UINT64:
      return [(v) => varint64(uint64Of(v)), WIRE_VARINT];
    case ScalarType.SINT64:
      return [
        (v) => {
          const b = int64Of(v);
          varint64((b << 1n) ^ (b >> 63n));
        },
        WIRE_VARINT,
      ];
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return [
        (v) => {
          const b = t === ScalarType.FIXED64 ? uint64Of(v) : int64Of(v);
          ensure(8);
          buf.writeBigUInt64LE(BigInt.asUintN(64, b), pos);
          pos += 8;
        },
        WIRE_64,
      ];
  }
}

export function unsupported(): never {
  throw UNSUPPORTED;
}

/** The implicit-presence zero check of a proto3 scalar, on the value `create` would store. */
export function isZero(t: ScalarType, v: unknown): boolean {
  switch (t) {
    case ScalarType.STRING:
      return v === "";
    case ScalarType.BOOL:
      return v === false;
    case ScalarType.BYTES:
      return v instanceof Uint8Array && v.byteLength === 0;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return Object.is(v, 0);
    default:
      // protobuf-es's loose check: 0, 0n.
      // biome-ignore lint/suspicious/noDoubleEquals: as protobuf-es compares
      return v == 0;
  }
}

export function tag(no: number, wire: number): void {
  varint(((no << 3) | wire) >>> 0);
}

/** Raw bytes (a kept unknown field's data). */
export function raw(data: Uint8Array): void {
  ensure(data.byteLength);
  buf.set(data, pos);
  pos += data.byteLength;
}

/** A new frame: its 5-byte header's room taken. */
export function beginFrame(): void {
  pos = 5;
}

/** The frame written since {@link beginFrame}, copied out: flags 0 and the message's length. */
export function endFrame(): Uint8Array {
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  out[0] = 0;
  out.writeUInt32BE(pos - 5, 1);
  if (buf.length > MAX_SCRATCH) buf = Buffer.allocUnsafe(16 * 1024);
  return out;
}
