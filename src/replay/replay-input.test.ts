/**
 * Property: a decision replays to itself. Random requests × random preferences × random
 * catalog health, availability and tenant keys → the live {@link decide} → its record (as
 * stored: JSON) → the replay input → {@link decide} again → the same outcome, plan and record.
 * The real shipped policy bundle and the real catalog fixture; no server.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { DecisionRecord } from "../audit/index.js";
import type { Principal, TenantKey } from "../auth/index.js";
import { endpointOrigin } from "../auth/index.js";
import type { CatalogSnapshot, ResolvedEndpoint } from "../catalog/index.js";
import { buildSnapshot, isLocalEndpoint, loadCatalogDir } from "../catalog/index.js";
import type { PolicyInput } from "../policy/index.js";
import { PolicyEngine, PolicyEvaluationError, readBundle, repoRoot } from "../policy/index.js";
import type {
  ContentLabels,
  EndpointPerformance,
  ProviderPreferences,
  Reachability,
  RouteRequest,
} from "../routing/index.js";
import { type Decision, type DecisionInputs, decide, seededRng } from "../routing/index.js";
import type { ContentPart } from "../upstream/index.js";
import { redecide } from "./replay-input.js";

const CASES = 300;
const SEED = 20_240_612n;

let catalog: CatalogSnapshot;
let engine: PolicyEngine;

beforeAll(async () => {
  const root = repoRoot();
  // sim-us moves off this machine, so the catalog has local and remote endpoints (prefer_local,
  // local_only); the rest stays on 127.0.0.1.
  const source = await loadCatalogDir(join(root, "test/fixtures/catalog"));
  for (const p of source.providers)
    if (p.provider === "sim-us")
      for (const e of p.endpoints)
        e.base_url = e.base_url.replace(/^http:\/\/[^/]+/, "https://sim-us.example");
  catalog = buildSnapshot(source);
  expect(catalog.endpoints.filter((e) => isLocalEndpoint(e)).length).toBeGreaterThan(0);
  expect(catalog.endpoints.filter((e) => !isLocalEndpoint(e)).length).toBeGreaterThan(0);
  engine = new PolicyEngine({ poolSize: 1, timeBudgetMicros: 5_000_000 });
  await engine.load(await readBundle(await readFile(join(root, "policies/dist/bundle.tar.gz"))));
}, 30_000);

/**
 * The shipped policy, failing on requests labelled `fail` — deterministically, so the replay
 * of a policy error meets the same failure (as a replay with the recorded bundle would).
 */
const policy = {
  evaluate(input: PolicyInput) {
    const kind = input.request.labels.fail;
    if (kind === "timeout" || kind === "malformed")
      return Promise.reject(new PolicyEvaluationError(kind, "injected by the property test"));
    return engine.evaluate(input);
  },
  get bundle() {
    return engine.current!;
  },
};

type Rand = ReturnType<typeof seededRng>;
const chance = (r: Rand, p: number) => r() < p;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const some = <T>(r: Rand, xs: readonly T[], max = xs.length): T[] =>
  xs.filter(() => chance(r, 0.4)).slice(0, Math.max(1, Math.floor(r() * (max + 1))));
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

/** Preferences at the record's precision: micro-USD prices, ms latency, milli-tokens/s. */
function preferences(r: Rand, endpoints: readonly ResolvedEndpoint[]): ProviderPreferences {
  const names = [...new Set(endpoints.flatMap((e) => [e.id, e.provider])), "nowhere", "sim-xx/chat"];
  const p: ProviderPreferences = { allowFallbacks: !chance(r, 0.2) };
  if (chance(r, 0.3)) p.order = some(r, names);
  if (chance(r, 0.2)) p.only = some(r, names);
  if (chance(r, 0.2)) p.ignore = some(r, names, 2);
  if (chance(r, 0.4))
    p.sort = {
      by: pick(r, ["price", "throughput", "latency"] as const),
      partition: pick(r, ["model", "none"] as const),
    };
  if (chance(r, 0.3)) {
    p.maxPrice = {};
    if (chance(r, 0.7)) p.maxPrice.prompt = int(r, 0, 3_000_000) / 1e6;
    if (chance(r, 0.5)) p.maxPrice.completion = int(r, 0, 8_000_000) / 1e6;
  }
  if (chance(r, 0.3)) p.zdr = chance(r, 0.5);
  if (chance(r, 0.3)) p.dataCollection = pick(r, ["allow", "deny"] as const);
  if (chance(r, 0.3)) p.requireParameters = chance(r, 0.5);
  if (chance(r, 0.2)) p.quantizations = some(r, ["bf16", "fp8", "int4"]);
  if (chance(r, 0.3)) p.preferredMinThroughput = int(r, 0, 200_000) / 1000;
  if (chance(r, 0.3)) p.preferredMaxLatency = int(r, 0, 5000) / 1000;
  if (chance(r, 0.5)) p.preferLocal = chance(r, 0.8);
  if (chance(r, 0.15)) p.localOnly = chance(r, 0.7);
  return p;
}

function request(r: Rand, snapshot: CatalogSnapshot): RouteRequest {
  const models = [...snapshot.byModel.keys()];
  const req: RouteRequest = {
    model: pick(r, models),
    models: chance(r, 0.3) ? some(r, models, 2) : [],
    messages: Array.from({ length: int(r, 0, 3) }, (_, i) => ({
      role: i % 2 === 0 ? ("user" as const) : ("assistant" as const),
      content: "y".repeat(int(r, 0, 400)),
    })),
    provider: preferences(r, snapshot.endpoints),
    region: chance(r, 0.4) ? pick(r, ["eu", "us", "apac"]) : null,
    labels: chance(r, 0.15)
      ? { fail: pick(r, ["timeout", "malformed"]) }
      : chance(r, 0.3)
        ? { team: "a" }
        : {},
    workload: pick(r, ["", "batch", "chat"]),
  };
  if (chance(r, 0.4)) req.maxTokens = pick(r, [1, 256, 40_000, 200_000]);
  if (chance(r, 0.3)) req.temperature = 0.5;
  if (chance(r, 0.2)) req.topP = 0.9;
  if (chance(r, 0.2)) req.stop = ["END"];
  if (chance(r, 0.2)) req.tools = [{ type: "function", function: { name: "f" } }];
  if (chance(r, 0.1)) req.toolChoice = "auto";
  if (chance(r, 0.2)) req.seed = 7;
  if (chance(r, 0.3)) req.params = parameters(r);
  if (req.messages.length > 0 && chance(r, 0.3)) {
    const first = req.messages[0]!;
    req.messages = [{ ...first, content: parts(r, first.content as string) }, ...req.messages.slice(1)];
  }
  if (chance(r, 0.05)) req.operation = "embedding";
  return req;
}

/** Some of the other parameters, contract, advisory and retention ones, with real values. */
function parameters(r: Rand): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (chance(r, 0.3)) p.n = pick(r, [1, 2]);
  if (chance(r, 0.3))
    p.response_format = pick(r, [
      { type: "json_object" },
      { type: "json_schema", json_schema: { name: "x" } },
    ]);
  if (chance(r, 0.3)) p.logprobs = true;
  if (chance(r, 0.3)) p.presence_penalty = 0.5;
  if (chance(r, 0.2)) p.user = "u";
  if (chance(r, 0.2)) p.store = chance(r, 0.5);
  if (chance(r, 0.2)) p.prompt_cache_key = "k";
  return p;
}

/** The text, with images (inline or by URL), audio or a file beside it. */
function parts(r: Rand, text: string): ContentPart[] {
  const out: ContentPart[] = [];
  if (chance(r, 0.6)) out.push({ type: "text", text });
  for (let i = int(r, 0, 2); i > 0; i--)
    out.push({
      type: "image",
      source: chance(r, 0.5)
        ? { kind: "url", url: "https://example.com/a.png" }
        : { kind: "base64", mediaType: "image/png", data: "AAAA" },
    });
  if (chance(r, 0.3)) out.push({ type: "audio", format: "wav", data: "B".repeat(int(r, 0, 999)) });
  if (chance(r, 0.3))
    out.push({
      type: "file",
      source: { kind: "base64", mediaType: "application/pdf", data: "C".repeat(int(r, 0, 999)) },
    });
  if (out.length === 0) out.push({ type: "text", text });
  return out;
}

/** The router's view of the world: health, credentials present, tenant keys. */
function world(r: Rand, base: CatalogSnapshot) {
  const endpoints = base.endpoints.map((e) =>
    chance(r, 0.2)
      ? {
          ...e,
          available: false,
          unavailableReason: chance(r, 0.5)
            ? `credential environment variable KEY_${e.provider} is not set`
            : undefined,
        }
      : e,
  );
  const byId = new Map(endpoints.map((e) => [e.id, e]));
  const byModel = new Map([...base.byModel].map(([m, list]) => [m, list.map((e) => byId.get(e.id)!)]));
  const snapshot: CatalogSnapshot = { ...base, endpoints, byId, byModel };
  const performance = new Map<string, EndpointPerformance>(
    endpoints.map((e) => [
      e.id,
      {
        unhealthy: chance(r, 0.2),
        ttftMs: chance(r, 0.7) ? r() * 3000 : undefined,
        tokensPerSecond: chance(r, 0.7) ? r() * 200 : undefined,
      },
    ]),
  );
  // Probed local runtimes: some found unreachable, others reachable or not (yet) probed.
  const reachability = new Map<string, Reachability>(
    endpoints.map((e) => [
      e.id,
      chance(r, 0.2)
        ? {
            state: "unreachable",
            checkedAtMs: 1,
            reason: pick(r, [
              "probe GET /models: connection refused",
              "probe GET /api/tags: timed out after 2000 ms",
            ]),
          }
        : chance(r, 0.5)
          ? { state: "reachable", checkedAtMs: 1 }
          : { state: "unknown" },
    ]),
  );
  const keys = new Map<string, TenantKey>();
  for (const provider of new Set(endpoints.map((e) => e.provider))) {
    const origins = endpoints.filter((e) => e.provider === provider).map(endpointOrigin);
    const kind = pick(r, ["none", "none", "undecryptable", "own", "own-always", "moved"]);
    if (kind === "undecryptable") keys.set(provider, { apiKey: undefined, always: true, origins: new Set() });
    if (kind === "own" || kind === "own-always")
      keys.set(provider, { apiKey: "k", always: kind === "own-always", origins: new Set(origins) });
    if (kind === "moved")
      keys.set(provider, { apiKey: "k", always: false, origins: new Set(some(r, origins, 1)) });
  }
  return { snapshot, performance, reachability, keys };
}

/** What a detector found: nothing configured, or counts of some categories, some parts unscannable. */
function contentLabels(r: Rand): ContentLabels | undefined {
  if (chance(r, 0.25)) return undefined;
  const counts: Record<string, number> = {};
  for (const c of some(r, ["email", "iban", "phone", "secret"])) counts[c] = int(r, 1, 3);
  if (chance(r, 0.3)) delete counts.secret;
  return { version: "test-detect/1", counts, unscannable: chance(r, 0.15) ? int(r, 1, 2) : 0 };
}

const comparable = (d: Decision) => ({
  outcome: d.outcome,
  plan: d.plan.map((e) => e.id),
  // eval_us is the time the evaluation took, the one field that is not decided.
  record: d.record && { ...d.record, policy: { ...d.record.policy, eval_us: 0 } },
});

describe("a decision replays to itself", () => {
  it(`${CASES} random requests × preferences × catalog health: live → record → replay → equal`, async () => {
    const r = seededRng(SEED);
    const seen = new Set<string>();
    let withObligations = 0;
    let withLabels = 0;
    let unreachable = 0;
    let reordered = 0;
    for (let i = 0; i < CASES; i++) {
      const { snapshot, performance, reachability, keys } = world(r, catalog);
      const req = request(r, snapshot);
      const principal: Principal = {
        tenant: pick(r, ["default", "acme-health", "bund-gov", "acme-legal", "acme-support", "other"]),
        workload: req.workload,
        roles: ["client"],
        keyId: "",
        allTenants: false,
      };
      const timeMs = 1_750_000_000_000 + int(r, 0, 1e9);
      const inputs: DecisionInputs = {
        snapshot,
        policy: { evaluate: (input) => policy.evaluate(input), activeBundle: () => policy.bundle },
        performance: (id) => performance.get(id) ?? { unhealthy: false },
        reachability: (id) => reachability.get(id) ?? { state: "unknown" },
        keys,
        instance: "router-1",
        timeMs,
        decisionId: `0190-case-${i}`,
        seed: BigInt(int(r, 0, 2 ** 52)) * 4099n,
        contentLabels: contentLabels(r),
      };
      const live = await decide(req, principal, inputs);
      seen.add(live.outcome);
      if ((live.record?.obligations.length ?? 0) > 0) withObligations++;
      if (Object.keys(live.record?.labels ?? {}).length > 0) withLabels++;
      if (live.verdicts.some((v) => v.exclusions.some((x) => x.rule === "unreachable"))) unreachable++;
      if (
        req.provider.preferLocal &&
        live.plan.length > 1 &&
        isLocalEndpoint(live.plan[0]!) &&
        !isLocalEndpoint(live.plan.at(-1)!)
      )
        reordered++;
      expect(live.record, `case ${i}: a record is built`).toBeDefined();
      // As stored, less the tenant_seq the log adds on commit (routing does not read it).
      const stored = JSON.parse(JSON.stringify(live.record)) as DecisionRecord;
      // The replay gets the catalog revision as stored, not the live availability.
      const replayed = await redecide(stored, catalog, policy);
      expect(comparable(replayed), `case ${i}: ${JSON.stringify(req.provider)}`).toEqual(comparable(live));
    }
    // The generator reaches every outcome, or the property says little.
    expect([...seen].sort()).toEqual(["denied", "policy_error", "routed"]);
    // … and content labels and obligations reach the records.
    expect(withObligations, "cases with a redact obligation").toBeGreaterThan(0);
    expect(withLabels, "cases with content labels").toBeGreaterThan(0);
    // … and the local paths: a runtime excluded unreachable, a plan led by prefer_local.
    expect(unreachable, "some decision excluded an unreachable runtime").toBeGreaterThan(0);
    expect(reordered, "some plan put a local endpoint ahead of a cheaper remote one").toBeGreaterThan(0);
  }, 60_000);
});
