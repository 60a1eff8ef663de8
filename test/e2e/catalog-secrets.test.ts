import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { MasterKey } from "../../src/auth/byok.js";
import {
  CatalogService,
  GetEndpointResponseSchema,
  GetRevisionResponseSchema,
  ListEndpointsResponseSchema,
  ListProvidersResponseSchema,
} from "../../src/gen/sovereign/v1/catalog_pb.js";
import { REPO, startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";

/** `${NAME}` as the catalog writes it. */
const ref = (name: string) => `\${${name}}`;

/** The master key doubles as the canary: it must appear in no answer and no stored revision. */
const CANARY = MasterKey.generate();

const FIXTURE = join(REPO, "test/fixtures/catalog/simulator.yaml");
// biome-ignore lint/suspicious/noTemplateCurlyInString: the catalog's own ${VAR} syntax
const SIM_EU_URL = "${SOVR_SIMULATOR_URL:-http://127.0.0.1:8089}/sim-eu/v1";

/** The keys this file uses, in one place: catalogs are applied by a platform operator. */
async function makeKeys(t: TestApp) {
  const key = async (roles: ("client" | "operator")[]) =>
    (await createApiKey(t.app.db.db, { tenant: "acme", roles })).token;
  const keys = { catalogChanger: await key(["operator"]), client: await key(["client"]) };
  await t.app.auth.refresh();
  return keys;
}

describe("a catalog cannot name server secrets (issue 11, findings 3 and 4)", () => {
  let t: TestApp;
  let keys: Awaited<ReturnType<typeof makeKeys>>;
  let fixture: string;

  beforeAll(async () => {
    t = await startTestApp({
      auth: true,
      env: {
        SOVR_MASTER_KEY: CANARY,
        // An operator who put secrets on the allow-lists: the hard deny still holds.
        SOVR_CATALOG_URL_VARS: "SOVR_SIMULATOR_URL,SOVR_MASTER_KEY,DATABASE_URL,PUBLIC_HOST",
        SOVR_PROVIDER_KEY_VARS: "SOVR_MASTER_KEY,SOVR_TLS_KEY,SHARED_PROVIDER_KEY",
        PUBLIC_HOST: "public.example",
      },
    });
    keys = await makeKeys(t);
    fixture = await readFile(FIXTURE, "utf8");
  }, 60_000);
  afterAll(async () => t?.close());

  const apply = (content: string, validateOnly = false) =>
    new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key: keys.catalogChanger }).unary(
      CatalogService,
      CatalogService.method.applyCatalog,
      { files: [{ name: "simulator.yaml", content }], validateOnly },
    );
  const refusal = (content: string) =>
    apply(content).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );

  it("refuses api_key_env and base_url variables naming a server secret, even when configured, naming file, path and variable", async () => {
    const before = t.app.catalog.current().revision;
    const cases: [string, RegExp][] = [
      [
        fixture.replace(SIM_EU_URL, ref("SOVR_MASTER_KEY")),
        /endpoints\[0\]\.base_url: SOVR_MASTER_KEY is a server secret/,
      ],
      [
        fixture.replace(SIM_EU_URL, `http://127.0.0.1:9/${ref("SOVR_MASTER_KEY:-x")}/v1`),
        /endpoints\[0\]\.base_url: SOVR_MASTER_KEY is a server secret/,
      ],
      [
        fixture.replace(SIM_EU_URL, ref("DATABASE_URL")),
        /endpoints\[0\]\.base_url: DATABASE_URL is a server secret/,
      ],
      [
        fixture.replace(SIM_EU_URL, `${SIM_EU_URL}\n    api_key_env: SOVR_MASTER_KEY`),
        /endpoints\[0\]\.api_key_env: SOVR_MASTER_KEY is a server secret/,
      ],
      [
        fixture.replace(SIM_EU_URL, `${SIM_EU_URL}\n    api_key_env: SOVR_TLS_KEY`),
        /endpoints\[0\]\.api_key_env: SOVR_TLS_KEY is a server secret/,
      ],
      // Not on the allow-lists at all.
      [
        fixture.replace(SIM_EU_URL, `${SIM_EU_URL}\n    api_key_env: HOME`),
        /endpoints\[0\]\.api_key_env: HOME is not on the allow-list of provider key variables \(SOVR_PROVIDER_KEY_VARS\)/,
      ],
      [
        fixture.replace(SIM_EU_URL, `http://${ref("HOSTNAME:-h")}/v1`),
        /endpoints\[0\]\.base_url: \$\{HOSTNAME\} is not on the allow-list of base_url variables \(SOVR_CATALOG_URL_VARS\)/,
      ],
      // A listed provider key is a credential: never interpolated into a (public) base_url.
      [
        fixture.replace(SIM_EU_URL, `http://${ref("SHARED_PROVIDER_KEY:-h")}/v1`),
        /endpoints\[0\]\.base_url: \$\{SHARED_PROVIDER_KEY\} names a credential/,
      ],
    ];
    for (const [content, reason] of cases) {
      const err = await refusal(content);
      expect(err?.code, String(reason)).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(/^catalog rejected/);
      expect(err?.details).toMatch(new RegExp(`simulator\\.yaml:\\d+: ${reason.source}`));
      expect(err?.details).not.toContain(CANARY);
      const dry = await apply(content, true);
      expect(dry.valid).toBe(false);
      expect(toJsonString(CatalogService.method.applyCatalog.output, dry)).not.toContain(CANARY);
    }
    expect(t.app.catalog.current().revision).toBe(before);
  });

  it("an allow-listed non-secret variable still works", async () => {
    const r = await apply(fixture.replace(SIM_EU_URL, `https://${ref("PUBLIC_HOST")}/v1`), true);
    expect(r.valid).toBe(true);
  });

  it("no answer and no stored revision carries the master key", async () => {
    // The attempt of finding 4; whatever it answers, nothing may carry the value afterwards.
    const path = `http://127.0.0.1:9/${ref("SOVR_MASTER_KEY")}/v1`;
    await apply(fixture.replace(SIM_EU_URL, path)).catch(() => {});
    const client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key: keys.client });
    const answers: string[] = [];
    const list = await client.unary(CatalogService, CatalogService.method.listEndpoints, {});
    answers.push(toJsonString(ListEndpointsResponseSchema, list));
    answers.push(
      toJsonString(
        ListProvidersResponseSchema,
        await client.unary(CatalogService, CatalogService.method.listProviders, {}),
      ),
    );
    for (const e of list.endpoints) {
      const one = await client.unary(CatalogService, CatalogService.method.getEndpoint, { id: e.id });
      answers.push(toJsonString(GetEndpointResponseSchema, one));
    }
    const rows = await t.app.db.db
      .selectFrom("catalog_revisions")
      .select(["revision", "canonical"])
      .execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.canonical).not.toContain(CANARY);
      const r = await client.unary(CatalogService, CatalogService.method.getRevision, {
        revision: row.revision,
      });
      answers.push(toJsonString(GetRevisionResponseSchema, r));
    }
    expect(answers.join("\n")).toContain("sim-eu/chat-small");
    expect(answers.join("\n")).not.toContain(CANARY);
    expect(t.logs.join("\n")).not.toContain(CANARY);
  });

  it("refuses to start with a catalog naming a server secret, naming file, path and variable", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sovr-secret-catalog-"));
    try {
      await writeFile(
        join(dir, "simulator.yaml"),
        fixture.replace(SIM_EU_URL, `${SIM_EU_URL}\n    api_key_env: SOVR_MASTER_KEY`),
      );
      const start = startTestApp({
        catalogDir: dir,
        env: { SOVR_MASTER_KEY: CANARY, SOVR_PROVIDER_KEY_VARS: "SOVR_MASTER_KEY" },
      });
      await expect(start).rejects.toThrow(/simulator\.yaml/);
      const err = (await start.catch((e: unknown) => e)) as Error & { issues?: unknown };
      expect(JSON.stringify(err.issues)).toMatch(
        /endpoints\[0\]\.api_key_env.*SOVR_MASTER_KEY is a server secret/,
      );
      expect(`${err.message}${JSON.stringify(err.issues)}`).not.toContain(CANARY);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
