import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { type CaptureUpstream, startCaptureUpstream } from "../support/capture-upstream.js";
import { buildVariant, POLICIES_DIR } from "../support/policy-bundles.js";

/**
 * The shipped policy's answer on retention parameters and media, through a booted app (real
 * bundle built from policies/ with tenants added to its data.json, real catalog, real HTTP
 * upstream that records what it received), called as a service would: the `openai` SDK with
 * each tenant's own API key.
 * - `store: true` is refused by default (rule `retention_parameters`) and never leaves;
 * - a tenant whose data.json entry permits it gets it sent upstream as `store: true`;
 * - an image for a tenant with `media_region: "eu"` is denied to an endpoint outside the EU,
 *   with media_region.rego's reason, while the tenant's text goes there.
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

interface Candidate {
  endpoint_id: string;
  exclusions: { stage: string; rule: string; reason: string }[];
}

/** The 403 no_eligible_endpoint answer's candidates. */
async function denial(call: Promise<unknown>): Promise<Candidate[]> {
  const err = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as InstanceType<typeof OpenAI.APIError>;
  expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
  expect(err.code).toBe("no_eligible_endpoint");
  return (err.error as { metadata: { candidates: Candidate[] } }).metadata.candidates;
}

const hello = [{ role: "user" as const, content: "hello" }];

describe.each(appDatabases)("retention parameters and media_region through the app (%s)", (database) => {
  let dir: string;
  let upstream: CaptureUpstream;
  let t: TestApp;
  const clients = new Map<string, OpenAI>();
  const as = (tenant: string) => clients.get(tenant)!;

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
      auth: true,
      env: { CAPTURE_URL: upstream.url, SOVR_CATALOG_URL_VARS: "CAPTURE_URL", SOVR_CATALOG_WATCH: "off" },
    });
    for (const tenant of ["default", ...Object.keys(TENANTS)]) {
      const { token } = await createApiKey(t.app.db.db, { tenant, roles: ["client"] });
      clients.set(tenant, new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: token, maxRetries: 0 }));
    }
    await t.app.auth.refresh();
  });
  afterAll(async () => {
    await t?.close();
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses store: true by default (retention_parameters), and nothing leaves", async () => {
    const before = upstream.bodies.length;
    const [verdict, ...rest] = await denial(
      as("default").chat.completions.create({ model: "cap/chat", messages: hello, store: true }),
    );
    expect(rest).toEqual([]);
    expect(verdict?.endpoint_id).toBe("cap-eu/chat");
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
    const candidates = await denial(
      as("keeps-but-zdr").chat.completions.create({ model: "cap/chat", messages: hello, store: true }),
    );
    expect(candidates[0]?.exclusions.map((e) => e.rule)).toEqual(["retention_parameters"]);
  });

  it("sends store: true (with the labels as metadata) for a tenant whose data.json entry permits it", async () => {
    const before = upstream.bodies.length;
    const { data, response } = await as("keeps-completions")
      .chat.completions.create({
        model: "cap/chat",
        messages: hello,
        store: true,
        metadata: { team: "claims" },
      })
      .withResponse();
    expect(response.headers.get("x-sovr-endpoint")).toBe("cap-eu/chat");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(upstream.bodies.length).toBe(before + 1);
    const sent = upstream.bodies.at(-1)!;
    expect(sent.store).toBe(true);
    expect(sent.metadata).toEqual({ team: "claims" });
    expect(sent).not.toHaveProperty("params");
  });

  it("sends store: false, which keeps nothing, for any tenant without asking the policy", async () => {
    await as("default").chat.completions.create({
      model: "cap/chat",
      messages: hello,
      store: false,
      metadata: { team: "claims" },
    });
    const sent = upstream.bodies.at(-1)!;
    expect(sent.store).toBe(false);
    expect(sent).not.toHaveProperty("metadata");
  });

  it("denies an image outside the tenant's media_region, with the reason, and lets its text through", async () => {
    const candidates = await denial(
      as("media-eu").chat.completions.create({
        model: "cap/vision",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "what is this?" },
              { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            ],
          },
        ],
      }),
    );
    expect(candidates[0]?.exclusions).toEqual([
      {
        stage: "policy",
        rule: "tenant media-eu",
        reason:
          "tenant media-eu: media_region: image input: endpoint processed in region us (country US), eu required (source: provider)",
      },
    ]);
    const { response } = await as("media-eu")
      .chat.completions.create({ model: "cap/vision", messages: hello })
      .withResponse();
    expect(response.headers.get("x-sovr-endpoint")).toBe("cap-us/vision");
  });
});
