import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/index.js";
import {
  NoEligibleEndpointError,
  preferencesFromJson,
  type RouteRequest,
  type RouterEvent,
} from "../../src/routing/index.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { type CaptureUpstream, startCaptureUpstream } from "../support/capture-upstream.js";
import { buildVariant, POLICIES_DIR } from "../support/policy-bundles.js";

/**
 * The shipped policy's answer on retention parameters and media, through a booted app (real
 * bundle built from policies/ with two tenants added to its data.json, real catalog, real HTTP
 * upstream that records what it received):
 * - `store: true` is refused by default (rule `retention_parameters`) and never leaves;
 * - a tenant whose data.json entry permits it gets it sent upstream as `store: true`;
 * - an image for a tenant with `media_region: "eu"` is denied to an endpoint outside the EU,
 *   with media_region.rego's reason, while the tenant's text goes there.
 *
 * The router is called directly (`app.router.stream`): the OpenAI HTTP surface learns `store`
 * and image parts in the chat-http work. TODO(lead): switch to the `openai` SDK once merged.
 */
const CATALOG = `provider: cap-eu
name: Capture EU
headquarters: FR
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: eu, country: FR } }
endpoints:
  - id: cap-eu/chat
    model: cap/chat
    api: openai
    base_url: \${CAPTURE_URL}
    pricing: { prompt: 1, completion: 1 }
    context_length: 32768
    supported_parameters: [max_tokens, store, metadata, prompt_cache_key]
---
provider: cap-us
name: Capture US
headquarters: US
policy: { retention_days: 0, trains_on_data: false, caching: none, residency: { region: us, country: US } }
endpoints:
  - id: cap-us/vision
    model: cap/vision
    api: openai
    base_url: \${CAPTURE_URL}
    pricing: { prompt: 1, completion: 1 }
    context_length: 32768
    supported_parameters: [max_tokens]
    input_modalities: [text, image]
`;

const TENANTS = {
  "keeps-completions": { permitted_parameters: ["store"] },
  "keeps-but-zdr": { permitted_parameters: ["store"], require_zdr: true },
  "media-eu": { media_region: "eu" },
};

function principal(tenant: string): Principal {
  return { tenant, workload: "", roles: ["client"], keyId: "", allTenants: false };
}

function request(o: Partial<RouteRequest>): RouteRequest {
  return {
    model: "cap/chat",
    models: [],
    messages: [{ role: "user", content: "hello" }],
    provider: preferencesFromJson({}),
    region: null,
    labels: { team: "claims" },
    workload: "",
    ...o,
  };
}

async function drain(events: AsyncGenerator<RouterEvent>): Promise<RouterEvent[]> {
  const out: RouterEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

async function denial(events: AsyncGenerator<RouterEvent>): Promise<NoEligibleEndpointError> {
  const err = await drain(events).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NoEligibleEndpointError);
  return err as NoEligibleEndpointError;
}

describe.each(appDatabases)("retention parameters and media_region through the app (%s)", (database) => {
  let dir: string;
  let upstream: CaptureUpstream;
  let t: TestApp;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-retention-"));
    upstream = await startCaptureUpstream();
    const data = JSON.parse(await readFile(join(POLICIES_DIR, "data.json"), "utf8"));
    data.tenants = { ...data.tenants, ...TENANTS };
    const bundle = await buildVariant(dir, "tenants", { "data.json": JSON.stringify(data) });
    const catalogDir = join(dir, "catalog");
    await mkdir(catalogDir);
    await writeFile(join(catalogDir, "capture.yaml"), CATALOG);
    t = await startTestApp({
      database,
      catalogDir,
      bundlePath: bundle.outFile,
      env: { CAPTURE_URL: upstream.url, SOVR_CATALOG_URL_VARS: "CAPTURE_URL", SOVR_CATALOG_WATCH: "off" },
    });
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses store: true by default (retention_parameters), and nothing leaves", async () => {
    const before = upstream.bodies.length;
    const err = await denial(t.app.router.stream(request({ params: { store: true } }), principal("default")));
    const [verdict] = err.candidates;
    expect(verdict?.endpoint.id).toBe("cap-eu/chat");
    expect(verdict?.exclusions).toEqual([
      {
        stage: "policy",
        rule: "retention_parameters",
        reason:
          "retention_parameters: store would have the provider keep or cache data, and the policy does not permit it",
      },
    ]);
    expect(upstream.bodies.length).toBe(before);
  });

  it("refuses it to a tenant that permits store but requires zero data retention", async () => {
    const err = await denial(
      t.app.router.stream(request({ params: { store: true } }), principal("keeps-but-zdr")),
    );
    expect(err.candidates[0]?.exclusions.map((e) => e.rule)).toEqual(["retention_parameters"]);
  });

  it("sends store: true (with the labels as metadata) for a tenant whose data.json entry permits it", async () => {
    const before = upstream.bodies.length;
    const events = await drain(
      t.app.router.stream(request({ params: { store: true } }), principal("keeps-completions")),
    );
    expect(events.find((e) => e.type === "route")).toMatchObject({ endpoint: { id: "cap-eu/chat" } });
    expect(events.at(-1)).toMatchObject({ type: "finish", finishReason: "stop" });
    expect(upstream.bodies.length).toBe(before + 1);
    const sent = upstream.bodies.at(-1)!;
    expect(sent.store).toBe(true);
    expect(sent.metadata).toEqual({ team: "claims" });
    expect(sent).not.toHaveProperty("params");
  });

  it("sends store: false, which keeps nothing, for any tenant without asking the policy", async () => {
    await drain(t.app.router.stream(request({ params: { store: false } }), principal("default")));
    const sent = upstream.bodies.at(-1)!;
    expect(sent.store).toBe(false);
    expect(sent).not.toHaveProperty("metadata");
  });

  it("denies an image outside the tenant's media_region, with the reason, and lets its text through", async () => {
    const image = request({
      model: "cap/vision",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" } },
          ],
        },
      ],
    });
    const err = await denial(t.app.router.stream(image, principal("media-eu")));
    expect(err.candidates[0]?.exclusions).toEqual([
      {
        stage: "policy",
        rule: "tenant media-eu",
        reason:
          "tenant media-eu: media_region: image input: endpoint processed in region us (country US), eu required (source: provider)",
      },
    ]);
    const text = await drain(t.app.router.stream(request({ model: "cap/vision" }), principal("media-eu")));
    expect(text.find((e) => e.type === "route")).toMatchObject({ endpoint: { id: "cap-us/vision" } });
  });
});
