import { create, type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";

/**
 * Random protobuf messages for the gRPC codec's differential tests (src/api/transport/proto-*.test.ts):
 * every field kind, absent, default and set values, unicode and lone surrogates, edge numbers,
 * shuffled key order, sometimes a created message instead of an init object. Deterministic.
 */
let seed = 0x9e3779b9;
function rnd(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

const TEXTS = [
  "",
  "a",
  "assistant",
  "héllo wörld",
  "日本語のテキスト",
  "emoji 😀🎉",
  "\u0000nul",
  "\uD800 lone",
  "lone \uDFFF",
];
function text(): string {
  const r = rnd();
  if (r < 0.6) return pick(TEXTS);
  if (r < 0.8) return "x".repeat(int(40, 300));
  let s = "";
  const n = int(0, 200);
  for (let i = 0; i < n; i++) s += String.fromCharCode(int(0, 0xffff));
  return s;
}

function scalar(t: ScalarType): unknown {
  const edge = rnd() < 0.3;
  switch (t) {
    case ScalarType.STRING:
      return text();
    case ScalarType.BYTES:
      return Uint8Array.from({ length: edge ? 0 : int(0, 300) }, () => int(0, 255));
    case ScalarType.BOOL:
      return rnd() < 0.5;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return edge ? pick([0, -1, 1, 0x7fffffff, -0x80000000, 127, 128, -128]) : int(-1e9, 1e9);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return edge ? pick([0, 1, 127, 128, 16383, 16384, 0xffffffff]) : int(0, 4e9);
    case ScalarType.FLOAT:
      return edge ? pick([0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -3.4e38]) : (rnd() - 0.5) * 1e6;
    case ScalarType.DOUBLE:
      return edge ? pick([0, -0, Number.NaN, Number.NEGATIVE_INFINITY, 1e308, 5e-324]) : (rnd() - 0.5) * 1e12;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return edge
        ? pick([0n, -1n, 9223372036854775807n, -9223372036854775808n, 0, 42, -7])
        : BigInt(int(-1e9, 1e9)) * BigInt(int(1, 1e9));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return edge ? pick([0n, 18446744073709551615n, 0, 300]) : BigInt(int(0, 1e9)) * BigInt(int(1, 1e9));
  }
}

function value(f: DescField, kind: "scalar" | "enum" | "message", depth: number): unknown {
  if (kind === "message") return randomMessage((f as { message: DescMessage }).message, depth + 1);
  if (kind === "enum") return pick((f as { enum: { values: { number: number }[] } }).enum.values).number;
  return scalar((f as { scalar: ScalarType }).scalar);
}

/** A random init object of `desc` (fields absent, default, set; sometimes a created message). */
export function randomMessage(desc: DescMessage, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (depth > 3) return out;
  for (const m of desc.members) {
    if (rnd() < 0.35) continue;
    if (m.kind === "oneof") {
      const f = pick(m.fields);
      out[m.localName] = { case: f.localName, value: value(f, f.fieldKind as "scalar", depth) };
      continue;
    }
    const f = m;
    switch (f.fieldKind) {
      case "scalar":
      case "enum":
      case "message":
        out[f.localName] = rnd() < 0.05 ? undefined : value(f, f.fieldKind, depth);
        break;
      case "list":
        out[f.localName] = Array.from({ length: int(0, 4) }, () => value(f, f.listKind, depth));
        break;
      case "map": {
        const rec: Record<string, unknown> = {};
        for (let i = int(0, 4); i > 0; i--)
          rec[pick(["k", "", "ключ", "7", "label.x", text()])] = value(f, f.mapKind, depth);
        out[f.localName] = rec;
      }
    }
  }
  // Field order shuffled: an init object's key order must not matter.
  const keys = Object.keys(out).sort(() => rnd() - 0.5);
  const shuffled = Object.fromEntries(keys.map((k) => [k, out[k]]));
  return rnd() < 0.2 ? (create(desc, shuffled as never) as unknown as Record<string, unknown>) : shuffled;
}
