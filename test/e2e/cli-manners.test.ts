/**
 * The `sovr` command's manners as a user meets them: the real `bin/sovr.js` in a child process
 * against a real server — version, errors in words with the fix, the gRPC port answering
 * HTTP/1.1, `--json` on every list, `serve --help` listing the configuration, `policy test`
 * without opa, and `audit tail` (the live decision feed, docs/audit.md).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { MasterKey } from "../../src/auth/byok.js";
import { CONFIG_KEYS } from "../../src/config/config.js";
import { REPO, startTestApp, type TestApp } from "../support/app.js";
import { chat, FIRST_START_RECORDS } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";
import { testModelDir } from "../support/local-model.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sovr(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { SOVR_KEY: _key, SOVR_URL: _url, ...base } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO, "bin/sovr.js"), ...args],
      { cwd: REPO, env: { ...base, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const jsonLines = (out: string) =>
  out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A raw HTTP/1.1 request, as curl sends it. */
function http1(
  port: number,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { accept: "*/*" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("sovr CLI manners", () => {
  let t: TestApp;
  let url: string;
  let operator: string;
  let client: string;
  let auditor: string;
  let grpc: GrpcJsClient;

  beforeAll(async () => {
    t = await startTestApp({ auth: true, env: { SOVR_MASTER_KEY: MasterKey.generate() } });
    url = t.app.httpUrl;
    const db = t.app.db.db;
    operator = (await createApiKey(db, { tenant: "ta", roles: ["operator", "admin", "auditor"] })).token;
    client = (await createApiKey(db, { tenant: "ta", roles: ["client"] })).token;
    auditor = (await createApiKey(db, { tenant: "ta", roles: ["auditor"] })).token;
    await t.app.auth.refresh();
    await t.app.byokAdmin.set(undefined, "ta", "sim-eu", "BYOK-CLI-MANNERS-77", false);
    grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key: client });
    for (let i = 0; i < 2; i++) await chat(grpc, `hello ${i}`);
    await t.app.audit.drain();
  });
  afterAll(async () => {
    grpc?.close();
    await t?.close();
  });

  it("sovr --version prints package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    const r = await sovr(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it("serve --help lists every configuration variable of the schema with its default", async () => {
    const r = await sovr(["serve", "--help"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    for (const key of [...CONFIG_KEYS, "SOVR_CONFIG"])
      expect(
        lines.some((l) => l.trimStart().startsWith(`${key} `)),
        key,
      ).toBe(true);
    expect(lines.find((l) => l.trimStart().startsWith("SOVR_GRPC_PORT "))).toMatch(/\s50051\s+\S/);
    expect(lines.find((l) => l.trimStart().startsWith("SOVR_LOG_LEVEL "))).toMatch(/\sinfo\s+\S/);
  });

  it("errors say the status in words and the fix: no key → set SOVR_KEY; a bad key; a missing role", async () => {
    const none = await sovr(["audit", "query"], { SOVR_URL: url });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^error: unauthenticated: .*set SOVR_KEY/);
    const bad = await sovr(["audit", "query"], { SOVR_URL: url, SOVR_KEY: "sovr_nope" });
    expect(bad.stderr).toMatch(/^error: unauthenticated: .*SOVR_KEY is not a valid key/);
    const denied = await sovr(["audit", "query"], { SOVR_URL: url, SOVR_KEY: client });
    expect(denied.stderr).toMatch(/^error: permission denied: /);
    const listDenied = await sovr(["catalog", "apply", join(REPO, "test/fixtures/catalog")], {
      SOVR_URL: url,
      SOVR_KEY: client,
    });
    expect(listDenied.stderr).toMatch(/^error: permission denied: /);
    for (const r of [none, bad, denied, listDenied]) expect(r.stderr).not.toMatch(/\(\d+\)\s*$/m);
  });

  it("pointed at the gRPC port, Connect and HTTP-only commands say to use the HTTP port; nothing listening says so", async () => {
    const grpcUrl = `http://127.0.0.1:${t.app.servers.grpcPort}`;
    const want = `is the gRPC port; use the HTTP port: set SOVR_URL=http://127.0.0.1:${t.app.servers.httpPort}`;
    const connect = await sovr(["audit", "query"], { SOVR_URL: grpcUrl, SOVR_KEY: auditor });
    expect(connect.code).toBe(1);
    expect(connect.stderr).toContain(want);
    expect(connect.stderr).not.toMatch(/EPIPE/);
    const httpOnly = await sovr(["keys", "byok", "list"], { SOVR_URL: grpcUrl, SOVR_KEY: operator });
    expect(httpOnly.code).toBe(1);
    expect(httpOnly.stderr).toContain(want);
    const refused = await sovr(["catalog", "list"], { SOVR_URL: "http://127.0.0.1:1", SOVR_KEY: auditor });
    expect(refused.stderr).toMatch(
      /^error: unavailable: nothing listens at http:\/\/127\.0\.0\.1:1 .*sovr serve/,
    );
  });

  it("the gRPC port answers an HTTP/1.1 request with 426 naming the HTTP port, and still serves gRPC", async () => {
    const r = await http1(t.app.servers.grpcPort, "/healthz");
    expect(r.status).toBe(426);
    expect(r.headers["sovr-http-port"]).toBe(String(t.app.servers.httpPort));
    expect(r.body).toContain(`use the HTTP port ${t.app.servers.httpPort}`);
    // gRPC on the same port is untouched.
    expect(await chat(grpc, "still gRPC")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("--json on every list prints one JSON object per line", async () => {
    const env = { SOVR_URL: url, SOVR_KEY: operator };
    const keys = jsonLines((await sovr(["keys", "list", "--json"], env)).stdout);
    expect(keys.some((k) => k.tenant === "ta" && (k.roles as string[]).includes("client"))).toBe(true);
    expect(JSON.stringify(keys)).not.toContain(client);
    const byok = jsonLines((await sovr(["keys", "byok", "list", "--json"], env)).stdout);
    expect(byok).toEqual([expect.objectContaining({ tenant: "ta", provider: "sim-eu" })]);
    expect(JSON.stringify(byok)).not.toContain("BYOK-CLI-MANNERS-77");
    const catalog = jsonLines((await sovr(["catalog", "list", "--json"], env)).stdout);
    expect(catalog.map((e) => e.id)).toContain("sim-eu/chat-small");
    const models = jsonLines((await sovr(["models", "list", "--json", "--dir", testModelDir()])).stdout);
    expect(models).toEqual([expect.objectContaining({ endpoint: "local/smollm2-135m-instruct" })]);
    const query = jsonLines((await sovr(["audit", "query", "--json"], env)).stdout);
    expect(query.length).toBeGreaterThan(0);
    const tail = jsonLines((await sovr(["audit", "tail", "--json"], env)).stdout);
    expect(tail.length).toBeGreaterThan(0);
  });

  it("policy test without opa says how to get it", async () => {
    const r = await sovr(["policy", "test"], { SOVR_OPA_BIN: "/nonexistent/opa" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("opa not found");
    expect(r.stderr).toContain("bash scripts/install-opa.sh");
    expect(r.stderr).toMatch(/go install github\.com\/open-policy-agent\/opa@v\d+\.\d+\.\d+/);
  });

  it("audit tail --json prints the log in order; --follow prints entries as they commit, and Ctrl-C says where to resume without gap or duplicate", async () => {
    const env = { SOVR_URL: url, SOVR_KEY: auditor };
    await t.app.audit.drain();
    const all = jsonLines((await sovr(["audit", "tail", "--json", "--from", "0"], env)).stdout);
    // Decision and outcome entries, after the admin records (not decisions) committed before
    // them: the router's start and the keys made for these tests.
    const S = (await t.app.db.db.selectFrom("audit_admin_events").select("seq").execute()).length;
    expect(S).toBeGreaterThanOrEqual(FIRST_START_RECORDS);
    expect(all.map((l) => l.seq)).toEqual(all.map((_, i) => S + i));
    // ta's tenant_seq 1 is the admin record of its BYOK key (set in beforeAll), not in the feed.
    expect(all[0]).toMatchObject({ kind: "decision", tenant: "ta", tenant_seq: 2, next_seq: S + 1 });
    expect((all[0]!.record as { decision_id: string }).decision_id).toBe(all[0]!.decision_id);

    const { SOVR_KEY: _k, SOVR_URL: _u, ...base } = process.env;
    const child: ChildProcess = spawn(
      process.execPath,
      [join(REPO, "bin/sovr.js"), "audit", "tail", "--follow", "--json", "--from", String(S + all.length)],
      { cwd: REPO, env: { ...base, ...env } },
    );
    let stderr = "";
    child.stderr!.on("data", (c) => {
      stderr += String(c);
    });
    const lines = createInterface({ input: child.stdout! });
    const got: Record<string, unknown>[] = [];
    const four = new Promise<void>((resolve) =>
      lines.on("line", (l) => {
        got.push(JSON.parse(l) as Record<string, unknown>);
        if (got.length === 4) resolve();
      }),
    );
    const ids = [await chat(grpc, "follow 1"), await chat(grpc, "follow 2")];
    await four;
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(got.map((l) => l.seq)).toEqual([0, 1, 2, 3].map((i) => S + all.length + i));
    expect([...new Set(got.map((l) => l.decision_id))]).toEqual(ids);
    const resume = /resume with: sovr audit tail --from (\d+)/.exec(stderr);
    expect(resume, stderr).not.toBeNull();
    expect(Number(resume![1])).toBeGreaterThanOrEqual(Number(got.at(-1)!.next_seq));
    await chat(grpc, "after");
    await t.app.audit.drain();
    const rest = jsonLines((await sovr(["audit", "tail", "--json", "--from", resume![1]!], env)).stdout);
    expect(rest.map((l) => l.seq)).toEqual(rest.map((_, i) => Number(resume![1]) + i));
    expect(rest.length).toBe(2);
  });
});
