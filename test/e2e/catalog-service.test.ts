/**
 * CatalogService end to end: a real `sovr serve` (port 0, own simulator, fresh database) on
 * PGlite and on Postgres, called with Connect over HTTP/1.1 — what `sovr catalog` uses.
 */
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AttributeSource,
  Availability,
  Caching,
  CatalogIssueSchema,
  CatalogService,
  type WatchCatalogResponse,
} from "../../src/gen/sovereign/v1/catalog_pb.js";
import { DataCollection, ExclusionStage, RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { appDatabases, REPO, startTestApp, type TestApp } from "../support/app.js";

const ALL_IDS = [
  "sim-eu/chat-large",
  "sim-eu/chat-small",
  "sim-unknown/chat-small",
  "sim-us/chat-large",
  "sim-us/chat-small",
];

async function rejection(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) throw new Error("expected the call to fail");
  return ConnectError.from(err);
}

function sha256(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

describe.each(appDatabases)("CatalogService (%s)", (database) => {
  let t: TestApp;
  let dir: string;
  let yaml: string;
  let catalog: Client<typeof CatalogService>;
  let router: Client<typeof RouterService>;
  const files = () => [{ name: "simulator.yaml", content: yaml }];
  const revisionRows = async () =>
    Number(
      (
        await t.app.db.db
          .selectFrom("catalog_revisions")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );

  beforeAll(async () => {
    // A private copy of the catalog, so the file-watch test can edit it.
    dir = await mkdtemp(join(tmpdir(), "sovr-catalog-svc-"));
    await cp(join(REPO, "test/fixtures/catalog"), dir, { recursive: true });
    yaml = await readFile(join(dir, "simulator.yaml"), "utf8");
    t = await startTestApp({ database, catalogDir: dir });
    const transport = createConnectTransport({ baseUrl: t.app.httpUrl, httpVersion: "1.1" });
    catalog = createClient(CatalogService, transport);
    router = createClient(RouterService, transport);
  });
  afterAll(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("lists providers with their stated defaults, absent facts left absent", async () => {
    const res = await catalog.listProviders({});
    expect(res.revision).toBe(t.app.catalog.current().revision);
    expect(res.providers.map((p) => p.slug)).toEqual(["sim-eu", "sim-unknown", "sim-us"]);
    const [eu, unknown, us] = res.providers;
    expect(eu).toMatchObject({
      name: "Simulator EU",
      headquarters: "FR",
      endpointIds: ["sim-eu/chat-large", "sim-eu/chat-small"],
      policy: {
        retentionDays: 0,
        trainsOnData: false,
        caching: Caching.IN_MEMORY,
        region: "eu",
        country: "FR",
      },
    });
    expect(us?.policy).toMatchObject({ retentionDays: 30, caching: Caching.PERSISTENT, region: "" });
    expect(unknown?.policy?.retentionDays).toBeUndefined();
    expect(unknown?.policy?.trainsOnData).toBeUndefined();
    expect(unknown?.policy?.caching).toBe(Caching.UNSPECIFIED);
    expect(unknown?.policy?.region).toBe("");
  });

  it("filters endpoints by model, provider, region, zdr and total price", async () => {
    const ids = async (req: Parameters<typeof catalog.listEndpoints>[0]) =>
      (await catalog.listEndpoints(req)).endpoints.map((e) => e.id);
    expect(await ids({})).toEqual(ALL_IDS);
    expect(await ids({ model: "sim/chat-small" })).toEqual([
      "sim-eu/chat-small",
      "sim-unknown/chat-small",
      "sim-us/chat-small",
    ]);
    expect(await ids({ provider: "sim-us" })).toEqual(["sim-us/chat-large", "sim-us/chat-small"]);
    // Unknown residency (sim-unknown) matches no region.
    expect(await ids({ region: "eu" })).toEqual(["sim-eu/chat-large", "sim-eu/chat-small"]);
    expect(await ids({ region: "us" })).toEqual(["sim-us/chat-large", "sim-us/chat-small"]);
    // sim-us retains 30 days; sim-unknown's retention is assumed, which never qualifies.
    expect(await ids({ zdrOnly: true })).toEqual(["sim-eu/chat-large", "sim-eu/chat-small"]);
    // prompt + completion: eu-small 1, unknown 2, us-small 3, us-large 6, eu-large 8.
    expect(await ids({ maxPrice: 3 })).toEqual([
      "sim-eu/chat-small",
      "sim-unknown/chat-small",
      "sim-us/chat-small",
    ]);
    expect(await ids({ maxPrice: 0 })).toEqual([]);
    expect(await ids({ model: "sim/chat-small", maxPrice: 2, zdrOnly: false })).toEqual([
      "sim-eu/chat-small",
      "sim-unknown/chat-small",
    ]);
    const bad = await rejection(catalog.listEndpoints({ maxPrice: -1 }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toMatch(/^max_price: /);
  });

  it("pages through endpoints with tokens bound to the query", async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let pageToken = "";
    do {
      const page = await catalog.listEndpoints({ pageSize: 2, pageToken });
      sizes.push(page.endpoints.length);
      seen.push(...page.endpoints.map((e) => e.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(ALL_IDS);

    const first = await catalog.listEndpoints({ pageSize: 1, model: "sim/chat-small" });
    expect(first.nextPageToken).not.toBe("");
    // The token belongs to the model filter: reusing it for another query is an argument error.
    for (const req of [
      { pageSize: 1, pageToken: first.nextPageToken, model: "sim/chat-large" },
      { pageToken: "not a token" },
      { pageToken: Buffer.from('{"o":-1}').toString("base64url") },
    ]) {
      const err = await rejection(catalog.listEndpoints(req));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^page_token: /);
    }
    const second = await catalog.listEndpoints({
      pageSize: 1,
      model: "sim/chat-small",
      pageToken: first.nextPageToken,
    });
    expect(second.endpoints.map((e) => e.id)).toEqual(["sim-unknown/chat-small"]);
    const negative = await rejection(catalog.listEndpoints({ pageSize: -1 }));
    expect(negative.rawMessage).toMatch(/^page_size: /);
  });

  it("gets one endpoint with sources and evidence, or NotFound", async () => {
    const { endpoint, revision } = await catalog.getEndpoint({ id: "sim-us/chat-small" });
    expect(revision).toBe(t.app.catalog.current().revision);
    expect(endpoint).toMatchObject({
      id: "sim-us/chat-small",
      provider: "sim-us",
      model: "sim/chat-small",
      api: "openai",
      pricing: { prompt: 1, completion: 2 },
      contextLength: 32768,
      quantization: "fp8",
      providerHeadquarters: "US",
      availability: Availability.AVAILABLE,
      policy: {
        retention: { days: 30, source: AttributeSource.PROVIDER },
        training: { trainsOnData: false, source: AttributeSource.PROVIDER },
        residency: { region: "us", country: "US", source: AttributeSource.ENDPOINT },
        caching: { caching: Caching.PERSISTENT, source: AttributeSource.PROVIDER },
        assumed: [],
      },
    });
    expect(endpoint?.baseUrl).toBe(`${t.simulator.url}/sim-us/v1`);

    const missing = await rejection(catalog.getEndpoint({ id: "sim-us/nope" }));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain("sim-us/nope");
    expect((await rejection(catalog.getEndpoint({ id: "" }))).code).toBe(Code.InvalidArgument);
  });

  it("serves an endpoint with no stated policy as the assumed worst case, which the policy denies", async () => {
    const { endpoint } = await catalog.getEndpoint({ id: "sim-unknown/chat-small" });
    const p = endpoint?.policy;
    expect(p?.retention?.days).toBeUndefined(); // retained indefinitely
    expect(p?.retention?.source).toBe(AttributeSource.ASSUMED);
    expect(p?.training).toMatchObject({ trainsOnData: true, source: AttributeSource.ASSUMED });
    expect(p?.residency).toMatchObject({ region: "", country: "", source: AttributeSource.ASSUMED });
    expect(p?.caching).toMatchObject({ caching: Caching.PERSISTENT, source: AttributeSource.ASSUMED });
    for (const a of [p?.retention, p?.training, p?.residency, p?.caching])
      expect(a?.evidence).toBeUndefined();
    expect(p?.assumed).toEqual(["retention", "training", "residency", "caching"]);

    const cases = [
      { rule: "zdr", request: { provider: { zdr: true } } },
      { rule: "data_collection", request: { provider: { dataCollection: DataCollection.DENY } } },
      { rule: "residency", request: { region: "eu" } },
    ];
    for (const c of cases) {
      const { decision } = await router.explain({ request: { model: "sim/chat-small", ...c.request } });
      const byId = new Map(decision?.candidates.map((x) => [x.endpointId, x]));
      const unknown = byId.get("sim-unknown/chat-small");
      expect(unknown?.eligible, c.rule).toBe(false);
      const policy = unknown?.exclusions.filter((e) => e.stage === ExclusionStage.POLICY) ?? [];
      expect(
        policy.map((e) => e.rule),
        c.rule,
      ).toContain(c.rule);
      expect(policy.find((e) => e.rule === c.rule)?.reason).toContain("assumed");
      // The EU zero-retention endpoint stays eligible under the same request: the denial is
      // about the unknown facts, not the request.
      expect(byId.get("sim-eu/chat-small")?.eligible, c.rule).toBe(true);
      expect(decision?.plan, c.rule).not.toContain("sim-unknown/chat-small");
    }
    // Without any requirement the same endpoint is allowed.
    const { decision } = await router.explain({ request: { model: "sim/chat-small" } });
    expect(decision?.candidates.find((x) => x.endpointId === "sim-unknown/chat-small")?.eligible).toBe(true);
  });

  it("reports live statistics from the router's own traffic", async () => {
    const quiet = await catalog.getEndpoint({ id: "sim-eu/chat-large" });
    expect(quiet.endpoint?.stats).toMatchObject({ requests30m: 0n });
    expect(quiet.endpoint?.stats?.uptime5m).toBeUndefined();
    expect(quiet.endpoint?.stats?.ttftP50Ms).toBeUndefined();

    t.simulator.setBehaviour("sim-eu", { ttftMs: 40, tokensPerSecond: 200, completionTokens: 8 });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await router.chat({
          model: "sim/chat-small",
          region: "eu",
          messages: [{ role: "user", content: "hi" }],
        });
        expect(res.route?.endpointId).toBe("sim-eu/chat-small");
      }
    } finally {
      t.simulator.resetBehaviour();
    }
    const { endpoint } = await catalog.getEndpoint({ id: "sim-eu/chat-small" });
    const s = endpoint?.stats;
    expect(s?.requests30m).toBe(2n);
    expect(s?.uptime5m).toBe(1);
    expect(s?.uptime30m).toBe(1);
    // Histogram bins are ~9% wide; the simulator waits 40 ms before the first token.
    expect(s?.ttftP50Ms).toBeGreaterThanOrEqual(35);
    expect(s?.ttftP90Ms).toBeGreaterThanOrEqual(s?.ttftP50Ms ?? 0);
    expect(s?.tokensPerSecond).toBeGreaterThan(0);

    // A failing upstream counts against uptime.
    t.simulator.setBehaviour("sim-us", { fault: { kind: "status", status: 500 } });
    try {
      await rejection(
        router.chat({
          model: "sim/chat-small",
          provider: { only: ["sim-us"] },
          messages: [{ role: "user", content: "hi" }],
        }),
      );
    } finally {
      t.simulator.resetBehaviour();
    }
    const failed = (await catalog.listEndpoints({ provider: "sim-us", model: "sim/chat-small" }))
      .endpoints[0];
    expect(failed?.stats?.requests30m).toBeGreaterThanOrEqual(1n);
    expect(failed?.stats?.uptime5m).toBe(0);
  });

  it("validates without applying: valid, invalid with every issue, and unchanged", async () => {
    const before = t.app.catalog.current().revision;
    const rows = await revisionRows();

    const same = await catalog.applyCatalog({ files: files(), validateOnly: true });
    expect(same).toMatchObject({ valid: true, changed: false, issues: [] });
    expect(same.revision?.revision).toBe(before);

    const cheaper = yaml.replace(
      "pricing: { prompt: 1.0, completion: 2.0 }",
      "pricing: { prompt: 0.9, completion: 2.0 }",
    );
    expect(cheaper).not.toBe(yaml);
    const other = await catalog.applyCatalog({
      files: [{ name: "simulator.yaml", content: cheaper }],
      validateOnly: true,
    });
    expect(other).toMatchObject({ valid: true, changed: true });
    expect(other.revision?.revision).not.toBe(before);
    expect(other.revision?.createdAt).toBeUndefined(); // never stored

    const broken = yaml
      .replace("headquarters: FR", "headquarters: XX")
      .replace("context_length: 16384", "context_length: -1");
    const invalid = await catalog.applyCatalog({
      files: [{ name: "simulator.yaml", content: broken }],
      validateOnly: true,
    });
    expect(invalid.valid).toBe(false);
    expect(invalid.issues.map((i) => i.path).sort()).toEqual(["endpoints[0].context_length", "headquarters"]);
    expect(invalid.issues.every((i) => i.file === "simulator.yaml" && i.line > 0 && i.message !== "")).toBe(
      true,
    );

    expect(t.app.catalog.current().revision).toBe(before);
    expect(await revisionRows()).toBe(rows);
  });

  it("rejects an invalid apply with InvalidArgument naming every issue; the running catalog stays", async () => {
    const before = t.app.catalog.current().revision;
    const rows = await revisionRows();
    const broken = yaml
      .replace("headquarters: FR", "headquarters: XX")
      .replace("context_length: 16384", "context_length: -1")
      .replace("quantization: fp8", "quantization: fp9");
    const err = await rejection(
      catalog.applyCatalog({ files: [{ name: "simulator.yaml", content: broken }] }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^catalog rejected \(3 issues\)/);
    for (const path of ["headquarters", "endpoints[0].context_length", "endpoints[0].quantization"]) {
      expect(err.rawMessage).toContain(`: ${path}: `);
    }
    expect(err.findDetails(CatalogIssueSchema).map((i) => i.path)).toHaveLength(3);
    expect(t.app.catalog.current().revision).toBe(before);
    expect(await revisionRows()).toBe(rows);

    const empty = await rejection(catalog.applyCatalog({ files: [] }));
    expect(empty.code).toBe(Code.InvalidArgument);
    expect(empty.rawMessage).toMatch(/^files: /);
  });

  it("applies a change, keeps every past revision exact, and creates no revision for an unchanged catalog", async () => {
    const r1 = t.app.catalog.current().revision;
    const old = await catalog.getRevision({ revision: r1 });
    expect(old.revision).toMatchObject({ revision: r1, providerCount: 3, endpointCount: 5 });
    expect(old.revision?.createdAt).toBeDefined();
    expect(sha256(old.canonicalJson)).toBe(r1);
    expect(old.canonicalJson).toBe(t.app.catalog.current().canonical);
    const staleToken = (await catalog.listEndpoints({ pageSize: 1 })).nextPageToken;

    const unchanged = await catalog.applyCatalog({ files: files() });
    expect(unchanged).toMatchObject({ valid: true, changed: false });
    expect(unchanged.revision?.revision).toBe(r1);
    const rows = await revisionRows();

    const cheaper = yaml.replace(
      "pricing: { prompt: 1.0, completion: 2.0 }",
      "pricing: { prompt: 0.9, completion: 2.0 }",
    );
    const applied = await catalog.applyCatalog({ files: [{ name: "simulator.yaml", content: cheaper }] });
    expect(applied.changed).toBe(true);
    const r2 = applied.revision?.revision ?? "";
    expect(r2).not.toBe(r1);
    expect(t.app.catalog.current().revision).toBe(r2);
    expect(await revisionRows()).toBe(rows + 1);
    expect((await catalog.getEndpoint({ id: "sim-us/chat-small" })).endpoint?.pricing?.prompt).toBe(0.9);

    // The old revision is still served byte for byte; the new one hashes to its id.
    const again = await catalog.getRevision({ revision: r1 });
    expect(again.canonicalJson).toBe(old.canonicalJson);
    expect(again.revision?.createdAt).toEqual(old.revision?.createdAt);
    const now = await catalog.getRevision({ revision: r2 });
    expect(sha256(now.canonicalJson)).toBe(r2);
    expect(now.canonicalJson).toContain('"prompt":0.9');

    // A page token of the old revision no longer pages.
    const stale = await rejection(catalog.listEndpoints({ pageSize: 1, pageToken: staleToken }));
    expect(stale.code).toBe(Code.InvalidArgument);
    expect(stale.rawMessage).toMatch(/^page_token: .*revision/);

    // Going back to r1 activates it again without storing it twice.
    const back = await catalog.applyCatalog({ files: files() });
    expect(back).toMatchObject({ changed: true, revision: { revision: r1 } });
    expect(await revisionRows()).toBe(rows + 1);

    const missing = await rejection(catalog.getRevision({ revision: "0".repeat(64) }));
    expect(missing.code).toBe(Code.NotFound);
    const malformed = await rejection(catalog.getRevision({ revision: "abc" }));
    expect(malformed.code).toBe(Code.InvalidArgument);
    expect(malformed.rawMessage).toMatch(/^revision: /);
  });

  it("streams the current revision, then changes from the watched directory and from ApplyCatalog, and ends on cancel", async () => {
    const abort = new AbortController();
    const stream = catalog.watchCatalog({}, { signal: abort.signal })[Symbol.asyncIterator]();
    const next = async (): Promise<WatchCatalogResponse> => {
      const r = await stream.next();
      if (r.done) throw new Error("stream ended");
      return r.value;
    };
    const first = await next();
    expect(first.revision?.revision).toBe(t.app.catalog.current().revision);
    expect(first.revision).toMatchObject({ providerCount: 3, endpointCount: 5 });
    expect(first.addedEndpointIds).toEqual(ALL_IDS);

    // 1. An edit of a watched file.
    const edited = yaml.replace(
      "pricing: { prompt: 1.0, completion: 1.0 }",
      "pricing: { prompt: 1.5, completion: 1.0 }",
    );
    expect(edited).not.toBe(yaml);
    await writeFile(join(dir, "simulator.yaml"), edited);
    const fromFile = await next();
    expect(fromFile.revision?.revision).toBe(t.app.catalog.current().revision);
    expect(fromFile.revision?.revision).not.toBe(first.revision?.revision);
    expect(fromFile).toMatchObject({
      addedEndpointIds: [],
      removedEndpointIds: [],
      changedEndpointIds: ["sim-unknown/chat-small"],
    });

    // 2. ApplyCatalog: the unknown provider removed, a new EU endpoint added.
    const withoutUnknown = edited.slice(0, edited.indexOf("---\n# No stated policy"));
    const added = withoutUnknown.replace(
      "  - id: sim-eu/chat-large",
      "  - id: sim-eu/chat-tiny\n    model: sim/chat-tiny\n    api: openai\n    base_url: http://127.0.0.1:1/v1\n    pricing: { prompt: 0.1, completion: 0.1 }\n    context_length: 4096\n  - id: sim-eu/chat-large",
    );
    const applied = await catalog.applyCatalog({ files: [{ name: "simulator.yaml", content: added }] });
    expect(applied.changed).toBe(true);
    const fromApply = await next();
    expect(fromApply.revision?.revision).toBe(applied.revision?.revision);
    expect(fromApply).toMatchObject({
      addedEndpointIds: ["sim-eu/chat-tiny"],
      removedEndpointIds: ["sim-unknown/chat-small"],
      changedEndpointIds: [],
    });

    // Cancel: the server side ends too (no call left in flight), then restore the catalog.
    abort.abort();
    await expect(stream.next()).rejects.toThrow();
    await expect.poll(() => t.app.servers.inflight, { timeout: 5000 }).toBe(0);
    await writeFile(join(dir, "simulator.yaml"), yaml);
    await expect.poll(() => t.app.catalog.current().endpoints.length, { timeout: 5000 }).toBe(5);
  });
});
