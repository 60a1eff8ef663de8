/**
 * `sovr audit verify` and pinned trust against a live service: without pinned keys verify
 * refuses to trust the export's own keys.json and says how to pin them; with the keys pinned
 * beforehand by `sovr audit keys --out` it verifies; against keys of another log it fails,
 * naming the key it was not given.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportKeys, generateSigningKey } from "../../src/audit/index.js";
import { auditClient, verifyCommand } from "../../src/cli/audit-commands.js";
import { keysCommand, UNPINNED_MESSAGE } from "../../src/cli/audit-trust.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { chat, exportLog } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";

describe.each(appDatabases)("verify against pinned keys (%s)", (database) => {
  let t: TestApp;
  let dir: string;
  const pinnedFile = () => join(dir, "..", `${dir.split("/").pop()}-pinned.json`);

  beforeAll(async () => {
    t = await startTestApp({ database });
    const grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    try {
      await chat(grpc, "pinned trust");
    } finally {
      grpc.close();
    }
    await t.app.audit.drain();
    dir = await exportLog(t);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    if (dir) await rm(pinnedFile(), { force: true });
    await t?.close();
  });

  it("refuses the export's own keys unless told, and says how to pin them", async () => {
    const r = await verifyCommand(dir);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toEqual(UNPINNED_MESSAGE);
    expect(r.stderr.join(" ")).toContain("--trusted-keys");
    const both = await verifyCommand(dir, { trustedKeys: "x.json", trustExportKeys: true });
    expect(both.stderr).toEqual(["--trusted-keys and --trust-export-keys exclude each other"]);
    expect((await verifyCommand(dir, { trustExportKeys: true })).exitCode).toBe(0);
  });

  it("verifies against the keys pinned from the service", async () => {
    const k = await keysCommand(auditClient({ url: t.app.httpUrl }), { out: pinnedFile() });
    expect(k.exitCode).toBe(0);
    const pinned = JSON.parse(await readFile(pinnedFile(), "utf8")) as { origin: string; keys: unknown[] };
    expect(pinned.keys.length).toBeGreaterThan(0);
    const r = await verifyCommand(dir, { trustedKeys: pinnedFile() });
    expect(r.stderr).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout[0]).toMatch(/^OK: /);
  });

  it("fails against keys pinned from another log, naming the service's key", async () => {
    const stranger = generateSigningKey();
    const pinned = JSON.parse(await readFile(pinnedFile(), "utf8")) as {
      origin: string;
      keys: { key_id: string }[];
    };
    const other = join(dir, "..", `${dir.split("/").pop()}-other.json`);
    await writeFile(
      other,
      JSON.stringify(
        exportKeys(pinned.origin, [
          { keyId: stranger.keyId, publicKeyRaw: stranger.publicKeyRaw, validFromUs: 0, validUntilUs: null },
        ]),
      ),
    );
    try {
      const r = await verifyCommand(dir, { trustedKeys: other });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toEqual([
        `FAILED at export: keys.json: key ${pinned.keys[0]?.key_id} is not among the trusted keys: the export is signed with a key you did not pin`,
      ]);
      expect((await verifyCommand(dir, { trustedKeys: join(dir, "missing.json") })).stderr).toEqual([
        "--trusted-keys: no such file",
      ]);
    } finally {
      await rm(other, { force: true });
    }
  });
});
