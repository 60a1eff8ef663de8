/**
 * A mixed policy workload for bench/policy-eval.ts: what a gateway serving several tenants
 * sees, with everything a request carries into the policy input that varies per request
 * (time, token estimates, request labels, identity claims of many keys and tokens, content
 * labels from the detectors), so the decision cache's hit rate is measured on inputs as the
 * router builds them, not on one input repeated.
 *
 * The distribution is an assumption, stated here so a reader can judge it: six tenants
 * (the shipped data.json's and `default`), 60 API keys and 40 JWT subjects, 8 models each
 * routed to its own 50 of the catalog's 200 endpoints (popularity skewed, Zipf-like),
 * region none/eu/us, routing preferences none/zdr/data_collection deny/both, 1 in 5 requests
 * with personal data found (counts 1–3 of one or two categories), 1 in 100 with a secret,
 * 1 in 100 with a part the detector could not scan, 5 % with an image, 5 % with `store`.
 */
import type { PolicyEndpointInput, PolicyInput } from "../../src/policy/types.js";
import { seeded } from "../../test/support/seeded.js";

export { seeded };

/** Picks from `items` with weights (same length). */
function weighted<T>(rnd: () => number, items: readonly T[], weights: readonly number[]): T {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = rnd() * total;
  for (let i = 0; i < items.length; i++) {
    x -= weights[i]!;
    if (x < 0) return items[i]!;
  }
  return items.at(-1)!;
}

/** 1/(rank+1) weights: the first items are the popular ones. */
function zipf(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 / (i + 1));
}

const TENANTS = ["default", "acme-health", "bund-gov", "acme-legal", "acme-support", "local-first"];
const TENANT_WEIGHTS = [40, 15, 10, 15, 15, 5];
const PREFERENCES: Array<Record<string, unknown>> = [
  {},
  { zdr: true },
  { data_collection: "deny" },
  { zdr: true, data_collection: "deny" },
  { sort: "price" },
];
const PREFERENCE_WEIGHTS = [55, 20, 10, 10, 5];
const CATEGORIES = ["email", "phone", "iban", "payment_card", "ip_address", "national_id"];

/** Content labels as the detectors report them (version, counts found, unscannable parts). */
function contentLabels(rnd: () => number): NonNullable<PolicyInput["request"]["content_labels"]> {
  const x = rnd();
  const counts: Record<string, number> = {};
  if (x < 0.2) {
    const first = weighted(rnd, CATEGORIES, zipf(CATEGORIES.length));
    counts[first] = 1 + Math.floor(rnd() * rnd() * 3);
    if (rnd() < 0.2) {
      const second = weighted(rnd, CATEGORIES, zipf(CATEGORIES.length));
      counts[second] = (counts[second] ?? 0) + 1;
    }
  } else if (x < 0.21) counts.secret = 1;
  return { version: "detect-1", counts, unscannable: x > 0.99 ? 1 : 0 };
}

/**
 * `count` policy inputs over `catalog` (at least 200 endpoints, the very objects loaded into
 * the engine), each with 50 candidates.
 */
export function policyMix(catalog: readonly PolicyEndpointInput[], count: number, seed = 19): PolicyInput[] {
  const rnd = seeded(seed);
  const models = Array.from({ length: 8 }, (_, m) => {
    const start = (m * 19) % (catalog.length - 50);
    return { name: `bench/model-${m}`, candidates: catalog.slice(start, start + 50) };
  });
  const keys = Array.from({ length: 60 }, (_, i) => ({
    tenant: TENANTS[i % TENANTS.length]!,
    identity: { kind: "api_key", subject: `key_${i.toString(36).padStart(6, "0")}`, claims: {} },
  }));
  const tokens = Array.from({ length: 40 }, (_, i) => ({
    tenant: TENANTS[(i * 5) % TENANTS.length]!,
    identity: {
      kind: "jwt",
      subject: `user-${i}`,
      claims: { iss: "https://idp.example", team: `team-${i % 7}`, scope: "chat" },
    },
  }));
  const callers = [...keys, ...tokens];
  const started = Date.parse("2026-11-30T09:00:00Z");
  const out: PolicyInput[] = [];
  for (let i = 0; i < count; i++) {
    const tenant = weighted(rnd, TENANTS, TENANT_WEIGHTS);
    const ofTenant = callers.filter((c) => c.tenant === tenant);
    const caller = ofTenant[Math.floor(rnd() * ofTenant.length)] ?? callers[0]!;
    const model = weighted(rnd, models, zipf(models.length));
    const media = rnd() < 0.05;
    out.push({
      request: {
        model: model.name,
        models: [],
        provider: weighted(rnd, PREFERENCES, PREFERENCE_WEIGHTS),
        region: weighted(rnd, [null, "eu", "us"], [60, 30, 10]),
        labels: rnd() < 0.5 ? {} : { team: `team-${Math.floor(rnd() * 7)}`, env: "prod" },
        estimated_prompt_tokens: 50 + Math.floor(rnd() * 4000),
        max_tokens: rnd() < 0.3 ? null : 256 * (1 + Math.floor(rnd() * 8)),
        parameters: rnd() < 0.5 ? ["temperature"] : ["temperature", "tools"],
        retention_parameters: rnd() < 0.05 ? ["store"] : [],
        modalities: media ? ["image", "text"] : ["text"],
        operation: "chat",
        content_labels: contentLabels(rnd),
      },
      principal: {
        tenant,
        workload: `svc-${Math.floor(rnd() * 5)}`,
        roles: ["client"],
        identity: { ...caller.identity, claims: { ...caller.identity.claims } },
      },
      endpoints: model.candidates,
      now: new Date(started + i * 2 + Math.floor(rnd() * 2)).toISOString(),
    });
  }
  return out;
}
