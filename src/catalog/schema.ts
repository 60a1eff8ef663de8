/**
 * The catalog's YAML format (docs/architecture.md §4) as a zod schema. One YAML document = one provider.
 *
 * Objects are strict (an unknown key is an error, so a typo such as `retention_day` can never
 * silently drop a fact), and every data-policy fact is optional: an absent fact is *unknown*
 * and resolution assumes the worst case for it (see resolve.ts).
 *
 * Evidence: a policy block's `evidence` is either one source for every fact stated in that
 * block, or a map from fact name to its own source; a `residency` object may carry its own.
 * Capabilities (supported parameters, input modalities, cached-input price) are not policy
 * facts: their source is `capabilities_evidence`, on the endpoint or the provider.
 */
import { z } from "zod";
import { EEA_COUNTRY_CODES, isCountryCode } from "./countries.js";

/** The provider slug of the models directory's endpoints (api local). */
export const LOCAL_PROVIDER = "local";
/** Provider slug: lower-case letters, digits and hyphens, starting with a letter. */
export const PROVIDER_SLUG = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
/** Endpoint id: `<provider>/<name>`. */
export const ENDPOINT_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*\/[a-z0-9][a-z0-9._-]*$/;
/** Model name: `<owner>/<name>`, as OpenRouter spells them (e.g. `mistralai/mistral-large`). */
export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._:-]*$/;
/** Residency region: a jurisdiction slug such as `eu`, `us`, `ch`. */
export const REGION_SLUG = /^[a-z]+(?:-[a-z0-9]+)*$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const PARAMETER_NAME = /^[a-z][a-z0-9_]*$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The facts a policy block can state, by their YAML names. */
export const POLICY_FACTS = ["retention_days", "trains_on_data", "caching", "residency"] as const;
export type PolicyFact = (typeof POLICY_FACTS)[number];

export const CACHING_VALUES = ["none", "in_memory", "persistent"] as const;
/** `local`: a GGUF model run in-process (node-llama-cpp); only the models directory yields these. */
export const API_VALUES = ["openai", "anthropic", "local"] as const;
/** What an endpoint serves: chat completions, or embeddings. */
export const KIND_VALUES = ["chat", "embedding"] as const;
/** Input modalities an endpoint takes (`input_modalities`; text alone when not stated). */
export const MODALITY_VALUES = ["text", "image", "audio", "file"] as const;
/** OpenRouter's quantization names, so the request filter `quantizations` can match them. */
export const QUANTIZATION_VALUES = [
  "int4",
  "int8",
  "fp4",
  "fp6",
  "fp8",
  "fp16",
  "bf16",
  "fp32",
  "unknown",
] as const;

const nonEmpty = z.string().trim().min(1, { error: "must not be empty" });

const httpUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: "custom", message: `malformed URL "${value}"` });
    return;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    ctx.addIssue({ code: "custom", message: `URL must use http or https, got "${url.protocol}"` });
  }
  if (url.username || url.password) {
    // Credentials are only ever referenced through api_key_env, never written into the catalog.
    ctx.addIssue({ code: "custom", message: "URL must not embed credentials" });
  }
});

/** A local model file (`file:` URL): the `base_url` of an `api: local` endpoint. */
const fileUrl = z.string().superRefine((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== "file:" || url.search !== "" || url.hash !== "") {
    ctx.addIssue({
      code: "custom",
      message: "an api local endpoint's base_url must be a file: URL of its model",
    });
  }
});

const isoDate = z.string().superRefine((value, ctx) => {
  const m = ISO_DATE.exec(value);
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !date || date.toISOString().slice(0, 10) !== value) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not a date (YYYY-MM-DD)` });
  }
});

const countryCode = z.string().refine(isCountryCode, {
  error: (iss) => `"${String(iss.input)}" is not an ISO 3166-1 alpha-2 country code`,
});

const price = z
  .number({ error: "must be a number (USD per million tokens)" })
  .refine(Number.isFinite, { error: "must be finite" })
  .refine((n) => n >= 0, { error: (iss) => `price must not be negative (got ${String(iss.input)})` });

/** Where a fact was established: the provider's own published page or document. */
export const evidenceSchema = z.strictObject({
  url: httpUrl,
  document: nonEmpty.optional(),
  verified_on: isoDate,
});

/** Evidence per fact, for a policy block whose facts come from different documents. */
export const factEvidenceSchema = z.strictObject({
  retention_days: evidenceSchema.optional(),
  trains_on_data: evidenceSchema.optional(),
  caching: evidenceSchema.optional(),
  residency: evidenceSchema.optional(),
});

/** `evidence:` is one source for all facts of its block, or a map fact → source. */
const evidenceField = z.union([evidenceSchema, factEvidenceSchema]);

export const residencySchema = z
  .strictObject({
    region: z
      .string()
      .regex(REGION_SLUG, { error: "region must be a lower-case slug such as eu or us" })
      .optional(),
    country: countryCode.optional(),
    evidence: evidenceSchema.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.region === undefined && r.country === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "residency must state a region or a country (leave it out when unknown)",
      });
    }
    if (r.region === "eu" && r.country !== undefined && !EEA_COUNTRY_CODES.has(r.country)) {
      ctx.addIssue({
        code: "custom",
        path: ["country"],
        message: `region eu requires an EU/EEA country, ${r.country} is not one`,
      });
    }
  });

const policyFields = {
  /** 0 = zero data retention. */
  retention_days: z
    .number()
    .int({ error: "retention_days must be a whole number of days" })
    .min(0, { error: "retention_days must not be negative" })
    .optional(),
  trains_on_data: z.boolean().optional(),
  caching: z.enum(CACHING_VALUES).optional(),
  evidence: evidenceField.optional(),
};

/** Checks that `evidence` only speaks about facts the block (or `extra`) actually states. */
function checkEvidenceTargets(
  block: { evidence?: z.infer<typeof evidenceField> | undefined } & Record<string, unknown>,
  ctx: z.RefinementCtx,
  stated: (fact: PolicyFact) => boolean,
): void {
  const evidence = block.evidence;
  if (evidence === undefined) return;
  if ("url" in evidence) {
    if (!POLICY_FACTS.some(stated)) {
      ctx.addIssue({ code: "custom", path: ["evidence"], message: "evidence given but no fact is stated" });
    }
    return;
  }
  for (const fact of POLICY_FACTS) {
    if (evidence[fact] !== undefined && !stated(fact)) {
      ctx.addIssue({
        code: "custom",
        path: ["evidence", fact],
        message: `evidence for ${fact}, which is not stated here`,
      });
    }
  }
}

/** Provider-wide defaults; every fact optional. */
export const providerPolicySchema = z
  .strictObject({ ...policyFields, residency: residencySchema.optional() })
  .superRefine((p, ctx) => checkEvidenceTargets(p, ctx, (fact) => p[fact] !== undefined));

/** Endpoint overrides. Residency is stated on the endpoint itself (`endpoints[].residency`). */
export const endpointPolicySchema = z.strictObject(policyFields);

export const endpointSchema = z
  .strictObject({
    id: z.string().regex(ENDPOINT_ID, { error: "endpoint id must look like <provider>/<name>" }),
    model: z.string().regex(MODEL_NAME, { error: "model must look like <owner>/<name>" }),
    /** Model name the upstream expects, when it differs from `model` (e.g. `gpt-4o`). */
    upstream_model: nonEmpty.optional(),
    api: z.enum(API_VALUES),
    /** http(s) for the HTTP APIs; a `file:` URL of the GGUF for `api: local`. */
    base_url: z.string(),
    api_key_env: z
      .string()
      .regex(ENV_NAME, { error: "api_key_env must be an environment variable name" })
      .optional(),
    residency: residencySchema.optional(),
    /** chat (the default) or embedding. */
    kind: z.enum(KIND_VALUES).optional(),
    /**
     * USD per million tokens; `cached_prompt` for prompt tokens read from the provider's cache
     * (the prompt price when not stated).
     */
    pricing: z.strictObject({ prompt: price, completion: price, cached_prompt: price.optional() }),
    context_length: z
      .number()
      .int({ error: "context_length must be a whole number of tokens" })
      .positive({ error: "context_length must be positive" }),
    /** The most tokens one answer may hold, where the provider states a limit below the context. */
    max_output_tokens: z
      .number()
      .int({ error: "max_output_tokens must be a whole number of tokens" })
      .positive({ error: "max_output_tokens must be positive" })
      .optional(),
    quantization: z.enum(QUANTIZATION_VALUES).optional(),
    supported_parameters: z
      .array(z.string().regex(PARAMETER_NAME, { error: "parameter names are snake_case" }))
      .optional(),
    /** What the endpoint takes as input; ["text"] when not stated (the worst case). */
    input_modalities: z
      .array(z.enum(MODALITY_VALUES))
      .min(1, { error: "input_modalities needs at least one modality" })
      .optional(),
    policy: endpointPolicySchema.optional(),
    /**
     * Where `supported_parameters`, `input_modalities` and `pricing.cached_prompt` of this
     * endpoint were read (the provider's API reference); the provider's when not stated.
     */
    capabilities_evidence: evidenceSchema.optional(),
  })
  .superRefine((e, ctx) => {
    const url = (e.api === "local" ? fileUrl : httpUrl).safeParse(e.base_url);
    for (const issue of url.error?.issues ?? []) {
      ctx.addIssue({ code: "custom", path: ["base_url"], message: issue.message });
    }
    const policy = e.policy;
    if (policy === undefined) return;
    checkEvidenceTargets(policy, ctx, (fact) =>
      fact === "residency" ? e.residency !== undefined : policy[fact] !== undefined,
    );
  });

const providerFields = {
  provider: z.string().regex(PROVIDER_SLUG, {
    error: "provider must be a slug (lower-case letters, digits, hyphens)",
  }),
  name: nonEmpty,
  headquarters: countryCode,
  policy: providerPolicySchema.optional(),
  /** Where its endpoints' capabilities were read, for endpoints that give no source of their own. */
  capabilities_evidence: evidenceSchema.optional(),
  endpoints: z.array(endpointSchema).min(1, { error: "a provider needs at least one endpoint" }),
};

function checkEndpointIds(p: { provider: string; endpoints: { id: string }[] }, ctx: z.RefinementCtx): void {
  p.endpoints.forEach((e, i) => {
    if (!e.id.startsWith(`${p.provider}/`)) {
      ctx.addIssue({
        code: "custom",
        path: ["endpoints", i, "id"],
        message: `endpoint id "${e.id}" must start with "${p.provider}/"`,
      });
    }
  });
}

/** One YAML document: a provider and its endpoints. */
export const providerSchema = z.strictObject(providerFields).superRefine(checkEndpointIds);

/**
 * The local provider, built from the models directory (catalog/local-models.ts), never from a
 * file: only `api: local` endpoints, and headquarters unknown when SOVR_LOCATION is not set.
 */
export const localProviderSchema = z
  .strictObject({
    ...providerFields,
    provider: z.literal(LOCAL_PROVIDER),
    headquarters: countryCode.optional(),
  })
  .superRefine((p, ctx) => {
    checkEndpointIds(p, ctx);
    p.endpoints.forEach((e, i) => {
      if (e.api !== "local") {
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", i, "api"],
          message: "the local provider serves api local only",
        });
      }
    });
  });

/** The whole catalog in canonical source form, as stored per revision. */
export const catalogSourceSchema = z.strictObject({
  version: z.literal(1),
  providers: z.array(z.union([providerSchema, localProviderSchema])),
});

export type EvidenceSource = z.output<typeof evidenceSchema>;
export type ResidencySource = z.output<typeof residencySchema>;
export type ProviderPolicySource = z.output<typeof providerPolicySchema>;
export type EndpointPolicySource = z.output<typeof endpointPolicySchema>;
export type EndpointSource = z.output<typeof endpointSchema>;
export type ProviderSource = z.output<typeof providerSchema> | z.output<typeof localProviderSchema>;
export type CatalogSource = z.output<typeof catalogSourceSchema>;

/**
 * Error map for parsing: a missing required field reads as such rather than as
 * "expected string, received undefined"; an unknown key names the key.
 */
export const catalogErrorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === "invalid_type" && iss.input === undefined) return "required field is missing";
  if (iss.code === "invalid_type") return `must be ${article(iss.expected)}, got ${describe(iss.input)}`;
  return undefined;
};

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}
