import { create, type DescField, type DescMessage, ScalarType, toBinary } from "@bufbuild/protobuf";

/**
 * A response message → its gRPC frame (5-byte header + protobuf), in one pass into one scratch
 * buffer, straight from the implementation's init object: what `toBinary(schema, create(schema,
 * init))` and the frame would give, byte for byte (./proto-encode.test.ts compares them on
 * random messages), without the intermediate message objects, the writer's fork/join and the
 * copies. Compiled once per schema. Anything it does not take on (a proto2 or editions file, a
 * well-known type, a group, a 64-bit field as string, a map with a non-string key, a value of
 * the wrong type) goes to protobuf-es, which then encodes it or throws its own error.
 */
export type FrameEncoder = (init: unknown) => Uint8Array;

class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported();

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
function delimited(body: () => void, guess = 1): void {
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

function writeString(s: string): void {
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
const WIRE_LEN = 2;
const WIRE_32 = 5;

function fixed32(v: number): void {
  ensure(4);
  buf.writeUInt32LE(v >>> 0, pos);
  pos += 4;
}

/** The value writer of a scalar type (without its tag), and its wire type. */
function scalarWriter(t: ScalarType): [Scalar, number] {
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

function unsupported(): never {
  throw UNSUPPORTED;
}

/** The implicit-presence zero check of a proto3 scalar, on the value `create` would store. */
function isZero(t: ScalarType, v: unknown): boolean {
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

type Body = (obj: Record<string, unknown>) => void;
const bodies = new WeakMap<DescMessage, Body>();

function tag(no: number, wire: number): void {
  varint(((no << 3) | wire) >>> 0);
}

/** A message's fields (sorted by number, as protobuf-es writes them), then its unknown fields. */
function compileBody(desc: DescMessage): Body {
  const known = bodies.get(desc);
  if (known) return known;
  const writers: Body[] = [];
  const typeName = desc.typeName;
  const body: Body = (obj) => {
    const own = obj.$typeName;
    if (own !== undefined && own !== typeName) throw UNSUPPORTED;
    for (let i = 0; i < writers.length; i++) writers[i]!(obj);
    // `create` keeps a message as it is, unknown fields and all; an init object has none.
    const unknown =
      own === undefined
        ? undefined
        : (obj.$unknown as { no: number; wireType: number; data: Uint8Array }[] | undefined);
    if (unknown) {
      for (const u of unknown) {
        tag(u.no, u.wireType);
        ensure(u.data.byteLength);
        buf.set(u.data, pos);
        pos += u.data.byteLength;
      }
    }
  };
  bodies.set(desc, body);
  if (desc.file.edition !== 999 /* proto3 */ || desc.typeName.startsWith("google.protobuf.")) {
    const fail: Body = unsupported;
    bodies.set(desc, fail);
    return fail;
  }
  for (const f of [...desc.fields].sort((a, b) => a.number - b.number)) writers.push(compileField(f));
  return body;
}

function messageValue(f: DescField & { message: DescMessage }): (v: unknown) => void {
  const child = compileBody(f.message);
  if (f.delimitedEncoding || f.message.typeName.startsWith("google.protobuf.")) return unsupported;
  return (v) => {
    if (v === null || typeof v !== "object") throw UNSUPPORTED;
    tag(f.number, WIRE_LEN);
    delimited(() => child(v as Record<string, unknown>));
  };
}

function compileField(f: DescField): Body {
  const name = f.localName;
  if (f.fieldKind !== "message" && "longAsString" in f && f.longAsString) return unsupported;
  switch (f.fieldKind) {
    case "scalar":
    case "enum": {
      const t = f.fieldKind === "enum" ? ScalarType.INT32 : f.scalar;
      const [write, wire] = scalarWriter(t);
      const no = f.number;
      const emit = (v: unknown) => {
        tag(no, wire);
        write(v);
      };
      if (f.oneof) {
        const group = f.oneof.localName;
        return (obj) => {
          const o = obj[group] as { case?: unknown; value?: unknown } | null | undefined;
          if (o?.case === name) {
            if (o.value == null) throw UNSUPPORTED;
            emit(o.value);
          }
        };
      }
      if (f.presence !== 2 /* implicit */)
        return (obj) => {
          const v = obj[name];
          if (v != null) emit(v);
        };
      const zero = f.fieldKind === "enum" ? f.enum.values[0]!.number : undefined;
      return (obj) => {
        const v = obj[name];
        if (v == null) return;
        if (zero !== undefined ? v === zero : isZero(t, v)) return;
        emit(v);
      };
    }
    case "message": {
      const emit = messageValue(f);
      if (f.oneof) {
        const group = f.oneof.localName;
        return (obj) => {
          const o = obj[group] as { case?: unknown; value?: unknown } | null | undefined;
          if (o?.case === name) emit(o.value);
        };
      }
      return (obj) => {
        const v = obj[name];
        if (v != null) emit(v);
      };
    }
    case "list": {
      if (f.listKind === "message") {
        const emit = messageValue(f as DescField & { message: DescMessage });
        return (obj) => {
          const items = listOf(obj[name]);
          for (let i = 0; i < items.length; i++) emit(items[i]);
        };
      }
      const t = f.listKind === "enum" ? ScalarType.INT32 : f.scalar;
      const [write, wire] = scalarWriter(t);
      const no = f.number;
      if (f.packed)
        return (obj) => {
          const items = listOf(obj[name]);
          if (items.length === 0) return;
          tag(no, WIRE_LEN);
          delimited(() => {
            for (let i = 0; i < items.length; i++) write(items[i]);
          });
        };
      return (obj) => {
        const items = listOf(obj[name]);
        for (let i = 0; i < items.length; i++) {
          tag(no, wire);
          write(items[i]);
        }
      };
    }
    case "map": {
      if (f.mapKey !== ScalarType.STRING) return unsupported;
      const no = f.number;
      let value: (v: unknown) => void;
      if (f.mapKind === "message") {
        const child = compileBody(f.message);
        if (f.message.typeName.startsWith("google.protobuf.")) return unsupported;
        value = (v) => {
          if (v === null || typeof v !== "object") throw UNSUPPORTED;
          tag(2, WIRE_LEN);
          delimited(() => child(v as Record<string, unknown>));
        };
      } else {
        const [write, wire] = scalarWriter(f.mapKind === "enum" ? ScalarType.INT32 : f.scalar);
        value = (v) => {
          tag(2, wire);
          write(v);
        };
      }
      return (obj) => {
        const rec = obj[name];
        if (rec == null) return;
        if (typeof rec !== "object" || Array.isArray(rec)) throw UNSUPPORTED;
        for (const k of Object.keys(rec)) {
          tag(no, WIRE_LEN);
          delimited(() => {
            tag(1, WIRE_LEN);
            writeString(k);
            value((rec as Record<string, unknown>)[k]);
          });
        }
      };
    }
  }
}

function listOf(v: unknown): readonly unknown[] {
  if (v == null) return [];
  if (!Array.isArray(v)) throw UNSUPPORTED;
  return v;
}

const encoders = new WeakMap<DescMessage, FrameEncoder>();

/** The frame encoder of `schema` (uncompressed frames: flags 0). */
export function frameEncoder(schema: DescMessage): FrameEncoder {
  let e = encoders.get(schema);
  if (e) return e;
  const body = compileBody(schema);
  e = (init) => {
    pos = 5;
    try {
      if (init === null || typeof init !== "object") throw UNSUPPORTED;
      body(init as Record<string, unknown>);
    } catch (err) {
      if (err !== UNSUPPORTED) throw err;
      return frameOf(toBinary(schema, create(schema, init as never)));
    }
    const out = Buffer.allocUnsafe(pos);
    buf.copy(out, 0, 0, pos);
    if (buf.length > MAX_SCRATCH) buf = Buffer.allocUnsafe(16 * 1024);
    out[0] = 0;
    out.writeUInt32BE(pos - 5, 1);
    return out;
  };
  encoders.set(schema, e);
  return e;
}

function frameOf(data: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(5 + data.byteLength);
  out[0] = 0;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, 5);
  return out;
}
