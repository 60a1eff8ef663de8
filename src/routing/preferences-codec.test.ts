import { create, type DescField, type DescMessage, equals, ScalarType } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ProviderPreferencesSchema } from "../gen/sovereign/v1/router_pb.js";
import { InvalidFieldError } from "./errors.js";
import {
  preferencesFromJson,
  preferencesFromProto,
  preferencesFromRecord,
  preferencesToJson,
  preferencesToProto,
  preferencesToRecord,
} from "./preferences-codec.js";
import type { ProviderPreferences } from "./types.js";

/**
 * A value for `field` that is not its default, so that dropping the field anywhere on the way
 * shows. A field kind without a sample fails the test: extend it along with the codec.
 */
function sample(field: DescField): unknown {
  switch (field.fieldKind) {
    case "scalar":
      if (field.scalar === ScalarType.STRING) return `s-${field.name}`;
      // Every bool preference is optional or defaults to true: false is the informative value.
      if (field.scalar === ScalarType.BOOL) return false;
      // Exact in every unit the codec uses (USD, micro-USD, seconds, ms, milli-tokens/s).
      if (field.scalar === ScalarType.DOUBLE) return 1.25;
      break;
    case "enum":
      return field.enum.values.at(-1)!.number;
    case "message":
      return filled(field.message);
    case "list":
      if (field.listKind === "scalar" && field.scalar === ScalarType.STRING)
        return [`a-${field.name}`, `b-${field.name}`];
      break;
  }
  throw new Error(`no sample for ${field.toString()}: teach this test and the codec about it`);
}

function filled(desc: DescMessage, only?: DescField) {
  const m = create(desc) as Record<string, unknown>;
  for (const f of only ? [only] : desc.fields) m[f.localName] = sample(f);
  return m;
}

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Every boundary out and back: proto, OpenRouter JSON (policy input / HTTP body), record. */
function roundTrips(msg: ReturnType<typeof preferencesToProto>) {
  const internal = preferencesFromProto(msg);
  const viaRecord = preferencesFromRecord(json(preferencesToRecord(internal)));
  const viaJson = preferencesFromJson(json(preferencesToJson(internal)));
  return { internal, viaRecord, viaJson };
}

describe("the preferences codec", () => {
  const empty = preferencesFromProto(create(ProviderPreferencesSchema));

  it.each(ProviderPreferencesSchema.fields.map((f) => [f.name, f] as const))(
    "maps proto field %s at every boundary, both ways",
    (_, field) => {
      const msg = filled(ProviderPreferencesSchema, field) as ReturnType<typeof preferencesToProto>;
      const { internal, viaRecord, viaJson } = roundTrips(msg);
      // Decoded at all: the field changes the internal preferences.
      expect(internal).not.toEqual(empty);
      expect(equals(ProviderPreferencesSchema, preferencesToProto(internal), msg)).toBe(true);
      expect(viaRecord).toEqual(internal);
      expect(viaJson).toEqual(internal);
      expect(equals(ProviderPreferencesSchema, preferencesToProto(viaRecord), msg)).toBe(true);
      // The encodings carry it too (not only recovered by a default).
      expect(preferencesToRecord(internal)).not.toEqual(preferencesToRecord(empty));
      expect(preferencesToJson(internal)).not.toEqual(preferencesToJson(empty));
    },
  );

  it("maps every field set at once", () => {
    const msg = filled(ProviderPreferencesSchema) as ReturnType<typeof preferencesToProto>;
    const { internal, viaRecord, viaJson } = roundTrips(msg);
    expect(equals(ProviderPreferencesSchema, preferencesToProto(internal), msg)).toBe(true);
    expect(viaRecord).toEqual(internal);
    expect(viaJson).toEqual(internal);
  });

  it("keeps OpenRouter's defaults when nothing is given", () => {
    const none: ProviderPreferences = { allowFallbacks: true };
    expect(empty).toEqual(none);
    expect(preferencesFromProto(undefined)).toEqual(none);
    expect(preferencesFromJson(undefined)).toEqual(none);
    expect(preferencesFromRecord(preferencesToRecord(none))).toEqual(none);
    expect(preferencesToRecord(none)).toEqual({ allow_fallbacks: true });
  });

  it("records integers only: micro-USD, ms and milli-tokens per second", () => {
    const p: ProviderPreferences = {
      allowFallbacks: true,
      maxPrice: { prompt: 0.15, completion: 2 },
      preferredMaxLatency: 0.8,
      preferredMinThroughput: 42.5,
    };
    expect(preferencesToRecord(p)).toEqual({
      allow_fallbacks: true,
      max_price_micro_usd: { prompt: 150_000, completion: 2_000_000 },
      preferred_max_latency_ms: 800,
      preferred_min_throughput_milli: 42_500,
    });
    expect(preferencesFromRecord(preferencesToRecord(p))).toEqual(p);
  });

  it("refuses enum numbers the proto does not declare, naming the field", () => {
    const bad = (o: object, field: string) => {
      const m = create(ProviderPreferencesSchema, o);
      expect(() => preferencesFromProto(m)).toThrow(InvalidFieldError);
      expect(() => preferencesFromProto(m)).toThrow(`${field}:`);
    };
    bad({ sort: { by: 99 } }, "provider.sort.by");
    bad({ sort: { by: 1, partition: 99 } }, "provider.sort.partition");
    bad({ dataCollection: 99 }, "provider.data_collection");
  });

  it("reads OpenRouter's shorthand and percentile forms from JSON", () => {
    expect(
      preferencesFromJson({
        sort: "latency",
        preferred_max_latency: { p50: 2, p90: 1.5 },
        preferred_min_throughput: { p75: 10, p99: 30 },
      }),
    ).toEqual({
      allowFallbacks: true,
      sort: { by: "latency", partition: "model" },
      preferredMaxLatency: 1.5,
      preferredMinThroughput: 30,
    });
    expect(() => preferencesFromJson({ data_collection: 3 })).toThrow(
      "provider.data_collection: must be a string",
    );
    expect(() => preferencesFromJson({ sort: { by: "speed" } })).toThrow("provider.sort.by");
  });
});
