/**
 * The strict schemas of decision and outcome records, formats v1 and v2 (docs/audit.md §1):
 * what {@link validateRecord} (record.ts) checks. v2 is v1 with `v: 2` and `tenant_seq`, the
 * record's place in its tenant's dense sequence; a v2 outcome record also names its `tenant`
 * (a v1 outcome is tied to its tenant only through its decision).
 */
import { z } from "zod";
import { assertIntegersOnly, isUuidv7 } from "../encoding/index.js";

const int = z.number().int().refine(Number.isSafeInteger, "not a safe integer");
const nonNegInt = int.refine((n) => n >= 0, "negative");
const uuidV7 = z.string().refine(isUuidv7, "not a UUIDv7");
const integersOnly = z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
  try {
    assertIntegersOnly(v);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
  }
});

const decisionSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("decision"),
  decision_id: uuidV7,
  time_us: nonNegInt,
  router: z.string(),
  principal: z.strictObject({ tenant: z.string(), workload: z.string(), roles: z.array(z.string()) }),
  request: z.strictObject({
    model: z.string(),
    models: z.array(z.string()),
    provider: integersOnly,
    region: z.string().nullable(),
    labels: z.record(z.string(), z.string()),
    message_count: nonNegInt,
    estimated_prompt_tokens: nonNegInt,
    max_tokens: nonNegInt.nullable(),
    parameters: z.array(z.string()),
  }),
  policy: z.strictObject({
    revision: z.string(),
    sha256: z.string(),
    eval_us: nonNegInt,
    error: z.string().optional(),
  }),
  catalog_revision: z.string(),
  candidates: z.array(
    z.strictObject({
      endpoint_id: z.string(),
      model: z.string(),
      eligible: z.boolean(),
      exclusions: z.array(z.strictObject({ stage: z.string(), rule: z.string(), reason: z.string() })),
      weight_ppb: nonNegInt,
      unhealthy: z.boolean(),
      ttft_us: nonNegInt.nullable(),
      tokens_per_second_milli: nonNegInt.nullable(),
    }),
  ),
  seed: z.string().regex(/^(0|[1-9][0-9]*)$/, "not a decimal integer"),
  plan: z.array(z.string()),
});

const outcomeSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("outcome"),
  decision_id: uuidV7,
  time_us: nonNegInt,
  outcome: z.enum(["success", "failed", "denied"]),
  attempts: z.array(
    z.strictObject({
      endpoint_id: z.string(),
      started_us: nonNegInt,
      duration_us: nonNegInt,
      status: int.nullable(),
      error_class: z.string().nullable(),
    }),
  ),
  endpoint_used: z.string().nullable(),
  usage: z.strictObject({ prompt_tokens: nonNegInt, completion_tokens: nonNegInt }).nullable(),
  cost_micro_usd: nonNegInt,
  latency_us: nonNegInt,
  ttft_us: nonNegInt.nullable(),
  error_class: z.string().nullable(),
});

const tenantSeq = int.refine((n) => n >= 1, "must be at least 1");

const decisionSchemaV2 = decisionSchema.extend({ v: z.literal(2), tenant_seq: tenantSeq });
const outcomeSchemaV2 = outcomeSchema.extend({ v: z.literal(2), tenant: z.string(), tenant_seq: tenantSeq });

/** Record schemas by format version (`v`), each a union over `kind`. */
export const RECORD_SCHEMAS = {
  1: z.discriminatedUnion("kind", [decisionSchema, outcomeSchema]),
  2: z.discriminatedUnion("kind", [decisionSchemaV2, outcomeSchemaV2]),
} as const;
