/**
 * The strict schemas of audit records, formats v1 and v2 (docs/audit.md §1): what
 * {@link validateRecord} (record.ts) checks. Unknown fields are refused everywhere.
 *
 * v1 (older logs): decision and outcome records, one object per candidate.
 *
 * v2 (what the router writes), defined once so that later features fill fields instead of
 * inventing them: `tenant_seq` on every record; a decision also carries the caller's identity,
 * the router's shard, the input modalities, content labels and obligations, and its candidates
 * in a compact column form whose exclusions point into one list of `checks` (so a 50-candidate
 * record stays ≤ 4 KB) — each candidate's model and data-policy attributes are not copied but
 * referenced through `catalog_revision`, the sha256 of the catalog it was decided against. An
 * outcome names its `tenant`. A third kind, `admin`, records who changed what (catalog, policy
 * bundle, signing key, API keys, BYOK, budgets), naming target ids and never a secret.
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

const principal = z.strictObject({ tenant: z.string(), workload: z.string(), roles: z.array(z.string()) });
const requestV1 = z.strictObject({
  model: z.string(),
  models: z.array(z.string()),
  provider: integersOnly,
  region: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  message_count: nonNegInt,
  estimated_prompt_tokens: nonNegInt,
  max_tokens: nonNegInt.nullable(),
  parameters: z.array(z.string()),
});
const policy = z.strictObject({
  revision: z.string(),
  sha256: z.string(),
  eval_us: nonNegInt,
  error: z.string().optional(),
});
const stage = z.enum(["policy", "filter", "availability"]);
const seed = z.string().regex(/^(0|[1-9][0-9]*)$/, "not a decimal integer");
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "not a sha256 (64 lowercase hex digits)");

const decisionSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("decision"),
  decision_id: uuidV7,
  time_us: nonNegInt,
  router: z.string(),
  principal,
  request: requestV1,
  policy,
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
  seed,
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

/**
 * Who made the call: an API key, a JWT from a configured issuer, an mTLS client certificate, or
 * nobody (auth off). "workload" was reserved before jwt/mtls existed and is never written.
 * `claims` (jwt, mtls; absent in older records) holds the selected claims, never the token.
 */
const caller = z.strictObject({
  kind: z.enum(["api_key", "jwt", "mtls", "workload", "anonymous"]),
  /** The key's workload name, the token's subject, the certificate's matched SAN URI or CN; "" when anonymous. */
  subject: z.string(),
  /** The API key id; "" when not an API key. */
  key_id: z.string(),
  claims: z.record(z.string(), z.string()).optional(),
});

/**
 * Candidates as columns, index i across every column being candidate i (candidate order). A
 * candidate's model and attributes are those of `endpoint_id` in the catalog revision.
 */
const candidatesV2 = z
  .strictObject({
    endpoint_id: z.array(z.string()),
    /** Per candidate, indices into `checks` of the checks it failed; [] = eligible. */
    exclusions: z.array(z.array(nonNegInt)),
    /** Selection weight, ppb of the largest eligible weight; 0 when excluded. */
    weight_ppb: z.array(nonNegInt),
    /** Indices of the candidates moved behind healthy ones for a recent outage, increasing. */
    unhealthy: z.array(nonNegInt),
    /**
     * Rolling performance at decision time of the candidates that had any, by increasing
     * candidate index: [index, ttft_us | null, tokens_per_second_milli | null].
     */
    performance: z.array(z.tuple([nonNegInt, nonNegInt.nullable(), nonNegInt.nullable()])),
  })
  .superRefine((c, ctx) => {
    const n = c.endpoint_id.length;
    for (const col of ["exclusions", "weight_ppb"] as const) {
      if (c[col].length !== n)
        ctx.addIssue({
          code: "custom",
          path: [col],
          message: `has ${c[col].length} entries for ${n} candidates`,
        });
    }
    c.unhealthy.forEach((i, k) => {
      if (i >= n || (k > 0 && i <= c.unhealthy[k - 1]!))
        ctx.addIssue({
          code: "custom",
          path: ["unhealthy", k],
          message: "not an increasing candidate index",
        });
    });
    c.performance.forEach(([i], k) => {
      if (i >= n || (k > 0 && i <= c.performance[k - 1]![0]))
        ctx.addIssue({
          code: "custom",
          path: ["performance", k, 0],
          message: "not an increasing candidate index",
        });
    });
    c.exclusions.forEach((x, i) => {
      if (x.length > 0 && c.weight_ppb[i] !== 0)
        ctx.addIssue({
          code: "custom",
          path: ["weight_ppb", i],
          message: "an excluded candidate has no weight",
        });
    });
  });

const decisionSchemaV2 = z
  .strictObject({
    v: z.literal(2),
    kind: z.literal("decision"),
    decision_id: uuidV7,
    time_us: nonNegInt,
    tenant_seq: tenantSeq,
    router: z.string(),
    /** The router's shard (instance group); "" when not sharded. */
    shard: z.string(),
    principal,
    caller,
    request: requestV1.extend({
      /** Input modalities, sorted: "text", "image", … */
      modalities: z.array(z.enum(["text", "image", "audio", "file"])),
      /** "embedding" for /v1/embeddings and Embed; absent for chat. */
      operation: z.literal("embedding").optional(),
    }),
    policy,
    catalog_revision: z.string(),
    /**
     * The checks that excluded a candidate: each distinct (stage, rule, reason) once; `applied`
     * (records since issue 14) is the index in `applied` of the check it is a failure of.
     */
    checks: z.array(
      z.strictObject({ stage, rule: z.string(), reason: z.string(), applied: nonNegInt.optional() }),
    ),
    /** The checks applied to every candidate (record-applied.ts); absent in earlier records. */
    applied: z.array(z.strictObject({ stage, rule: z.string(), check: z.string().optional() })).optional(),
    candidates: candidatesV2,
    /** Content labels from detectors (label → value); {} until detectors exist. */
    labels: z.record(z.string(), z.string()),
    /** Obligations the decision carries (e.g. "redact_pii"); [] until policies emit them. */
    obligations: z.array(z.string()),
    seed,
    plan: z.array(z.string()),
  })
  .superRefine((r, ctx) => {
    r.checks.forEach((c, k) => {
      if (c.applied !== undefined && c.applied >= (r.applied?.length ?? 0))
        ctx.addIssue({
          code: "custom",
          path: ["checks", k, "applied"],
          message: `applied check ${c.applied} does not exist`,
        });
    });
    r.candidates.exclusions.forEach((x, i) =>
      x.forEach((k, j) => {
        if (k >= r.checks.length)
          ctx.addIssue({
            code: "custom",
            path: ["candidates", "exclusions", i, j],
            message: `check ${k} does not exist (${r.checks.length} checks)`,
          });
      }),
    );
  });

const outcomeSchemaV2 = outcomeSchema.extend({
  v: z.literal(2),
  tenant: z.string(),
  tenant_seq: tenantSeq,
  /** Token details, each present only when the upstream reported it. */
  usage: z
    .strictObject({
      prompt_tokens: nonNegInt,
      completion_tokens: nonNegInt,
      cached_prompt_tokens: nonNegInt.optional(),
      cache_write_prompt_tokens: nonNegInt.optional(),
      reasoning_tokens: nonNegInt.optional(),
      audio_prompt_tokens: nonNegInt.optional(),
      audio_completion_tokens: nonNegInt.optional(),
    })
    .nullable(),
  /** Advisory parameters the endpoint used does not take (not sent); absent when none. */
  unapplied_parameters: z.array(z.string()).min(1).optional(),
});

/**
 * What an admin record may say was done, and the ids each names in `target`: `required` must
 * be there, `optional` may be (a budget may be a key's); nothing else may.
 */
export const ADMIN_ACTIONS = {
  "catalog.apply": { required: ["catalog_revision"], optional: [] },
  "policy.activate": { required: ["policy_revision", "policy_sha256"], optional: [] },
  "signing_key.rotate": { required: ["signing_key_id"], optional: [] },
  "key.create": { required: ["key_id"], optional: [] },
  "key.revoke": { required: ["key_id"], optional: [] },
  "key.expire": { required: ["key_id"], optional: [] },
  "byok.set": { required: ["provider"], optional: [] },
  "byok.remove": { required: ["provider"], optional: [] },
  "byok.approve_origins": { required: ["provider", "origins"], optional: [] },
  "budget.set": { required: ["budget_id"], optional: ["key_id"] },
  "budget.delete": { required: ["budget_id"], optional: ["key_id"] },
} as const satisfies Record<string, { required: readonly string[]; optional: readonly string[] }>;
export type AdminAction = keyof typeof ADMIN_ACTIONS;

/**
 * Who made an admin change: a caller as in a decision record, or `system` — the router itself
 * (the catalog and policy bundle read at start or on a file change, a new signing key at start)
 * — or `local` — someone with the database and keys in hand (`sovr keys …` without `SOVR_KEY`).
 */
const adminCaller = caller.extend({
  kind: z.union([caller.shape.kind, z.enum(["system", "local"])]),
});

const adminSchemaV2 = z
  .strictObject({
    v: z.literal(2),
    kind: z.literal("admin"),
    /** UUIDv7 of this change. */
    event_id: uuidV7,
    time_us: nonNegInt,
    /** The tenant acted on (the platform tenant for catalog, policy and signing-key changes). */
    tenant: z.string().min(1),
    tenant_seq: tenantSeq,
    router: z.string(),
    caller: adminCaller,
    /** On whose behalf: the caller's own tenant, workload and roles (an operator's is not the tenant acted on). */
    principal,
    action: z.enum(Object.keys(ADMIN_ACTIONS) as [AdminAction, ...AdminAction[]]),
    /** Ids only, never a secret. */
    target: z.strictObject({
      catalog_revision: sha256Hex.optional(),
      policy_revision: z.string().optional(),
      policy_sha256: sha256Hex.optional(),
      signing_key_id: z.string().min(1).optional(),
      key_id: z.string().min(1).optional(),
      provider: z.string().min(1).optional(),
      origins: z.array(z.string()).optional(),
      budget_id: z.string().min(1).optional(),
    }),
    /**
     * What the change replaced and what it put in place, where there is a revision: the catalog
     * revision, the bundle's sha256, the signing key id, a budget's limits as the budget service
     * writes them; `before` null when there was none.
     */
    revision: z.strictObject({ before: z.string().nullable(), after: z.string() }).optional(),
  })
  .superRefine((r, ctx) => {
    const rule = ADMIN_ACTIONS[r.action];
    const want: readonly string[] = rule.required;
    const may: readonly string[] = [...rule.required, ...rule.optional];
    const have = Object.keys(r.target);
    for (const k of want)
      if (!have.includes(k))
        ctx.addIssue({ code: "custom", path: ["target", k], message: `required by ${r.action}` });
    for (const k of have)
      if (!may.includes(k))
        ctx.addIssue({ code: "custom", path: ["target", k], message: `not part of ${r.action}` });
  });

/** Record schemas by format version (`v`), each a union over `kind`. */
export const RECORD_SCHEMAS = {
  1: z.discriminatedUnion("kind", [decisionSchema, outcomeSchema]),
  2: z.discriminatedUnion("kind", [decisionSchemaV2, outcomeSchemaV2, adminSchemaV2]),
} as const;

export type DecisionRecordV2Shape = z.infer<typeof decisionSchemaV2>;
export type AdminRecordShape = z.infer<typeof adminSchemaV2>;
