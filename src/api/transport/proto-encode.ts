import { create, type DescField, type DescMessage, ScalarType, toBinary } from "@bufbuild/protobuf";
import {
  beginFrame,
  delimited,
  endFrame,
  isZero,
  raw,
  scalarWriter,
  tag,
  UNSUPPORTED,
  unsupported,
  WIRE_LEN,
  writeString,
} from "./proto-wire-writer.js";

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

type Body = (obj: Record<string, unknown>) => void;
const bodies = new WeakMap<DescMessage, Body>();

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
        raw(u.data);
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
    beginFrame();
    try {
      if (init === null || typeof init !== "object") throw UNSUPPORTED;
      body(init as Record<string, unknown>);
    } catch (err) {
      if (err !== UNSUPPORTED) throw err;
      return frameOf(toBinary(schema, create(schema, init as never)));
    }
    return endFrame();
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
