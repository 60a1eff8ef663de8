/**
 * Witnesses against a live service (issue 14 §3): the log offers each checkpoint to its
 * witnesses (SOVR_WITNESSES) over the tlog-witness protocol, stores their cosignatures, serves
 * them with the checkpoint and exports them; `verify --witness … --witnesses-required K` holds
 * the export to a quorum. A SPLIT VIEW — a second log under the same origin and key, shown to
 * someone else — passes verification against the pinned keys, but the witness that cosigned
 * the first view refuses to cosign the second, and verification of it reports the missing
 * quorum.
 */

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cosignatureVerifier,
  exportKeys,
  formatVerifierKey,
  generateSigningKey,
  type SigningKey,
  saveSigningKey,
} from "../../src/audit/index.js";
import { auditClient, verifyCommand } from "../../src/cli/audit-commands.js";
import { startWitness } from "../../src/cli/audit-witness.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { chat, exportLog } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";

const ORIGIN = "witness-test.example/audit";

async function appWith(database: "pglite" | "postgres", key: SigningKey, witnesses: unknown[]) {
  // The log's key exists before the service starts, so the witness can pin its verifier key.
  const keysDir = await mkdtemp(join(tmpdir(), "sovr-witness-keys-"));
  await saveSigningKey(keysDir, key);
  const t = await startTestApp({
    database,
    env: {
      SOVR_KEYS_DIR: keysDir,
      SOVR_CHECKPOINT_ORIGIN: ORIGIN,
      SOVR_CHECKPOINT_INTERVAL_MS: "3600000",
      SOVR_WITNESSES: JSON.stringify(witnesses),
    },
  });
  return { t, keysDir };
}

async function traffic(t: TestApp, content: string): Promise<void> {
  const grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
  try {
    await chat(grpc, content);
  } finally {
    grpc.close();
  }
  await t.app.audit.drain();
  await t.app.checkpointer.checkpoint();
  await t.app.witnesses?.settled();
}

describe.each(appDatabases)("witness cosignatures (%s)", (database) => {
  const key = generateSigningKey();
  const witnessKeys = { a: generateSigningKey(), b: generateSigningKey() };
  const vkeyA = cosignatureVerifier("auditor.example/a", witnessKeys.a.publicKeyRaw).vkey;
  const vkeyB = cosignatureVerifier("auditor.example/b", witnessKeys.b.publicKeyRaw).vkey;
  let work: string;
  let witness: Server;
  let witnessUrl: string;
  const witnessOut: string[] = [];
  let honest: { t: TestApp; keysDir: string };
  let pinned: string;
  const dirs: string[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "sovr-witness-e2e-"));
    await writeFile(
      join(work, "a.pem"),
      (await import("../../src/audit/index.js")).signingKeyToPem(witnessKeys.a),
    );
    witness = await startWitness(
      {
        key: join(work, "a.pem"),
        name: "auditor.example/a",
        listen: "127.0.0.1:0",
        log: [`${ORIGIN}=${formatVerifierKey(ORIGIN, key.publicKeyRaw)}`],
        state: join(work, "a.state.json"),
      },
      (l) => witnessOut.push(l),
    );
    witnessUrl = witnessOut.find((l) => l.startsWith("listening "))!.slice("listening ".length);
    honest = await appWith(database, key, [{ name: "auditor.example/a", url: witnessUrl, vkey: vkeyA }]);
    pinned = join(work, "pinned.json");
    await writeFile(
      pinned,
      JSON.stringify(
        exportKeys(ORIGIN, [
          { keyId: key.keyId, publicKeyRaw: key.publicKeyRaw, validFromUs: 0, validUntilUs: null },
        ]),
      ),
    );
  });
  afterAll(async () => {
    await honest?.t.close();
    witness?.close();
    for (const d of [work, honest?.keysDir, ...dirs]) if (d) await rm(d, { recursive: true, force: true });
  });

  it("the witness prints its verifier key (type 0x04) for the operator and the auditor", () => {
    expect(witnessOut).toContain(`vkey ${vkeyA}`);
  });

  it("offers each checkpoint to the witness and serves its cosignature with the checkpoint", async () => {
    await traffic(honest.t, "first view");
    const first = (await auditClient({ url: honest.t.app.httpUrl }).getCheckpoint({})).checkpoint!;
    expect(first.cosignatures).toHaveLength(1);
    expect(first.cosignatures[0]).toMatch(/^— auditor\.example\/a /);
    // The next one is offered with a consistency proof from the size the witness holds.
    await traffic(honest.t, "first view, later");
    const second = (await auditClient({ url: honest.t.app.httpUrl }).getCheckpoint({})).checkpoint!;
    expect(second.size).toBeGreaterThan(first.size);
    expect(second.cosignatures).toHaveLength(1);
    expect(witnessOut.filter((l) => l.startsWith("witness: cosigned"))).toHaveLength(2);
  });

  it("exports the cosignatures and verifies a quorum of pinned witnesses; k of n names the missing one", async () => {
    const dir = await exportLog(honest.t);
    dirs.push(dir);
    const lines = (await readFile(join(dir, "checkpoints.jsonl"), "utf8")).trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { cosignatures?: string[] }).cosignatures?.length)).toContain(
      1,
    );
    const ok = await verifyCommand(dir, { trustedKeys: pinned, witness: [vkeyA] });
    expect(ok.stderr).toEqual([]);
    expect(ok.stdout[0]).toContain("newest checkpoint cosigned by 1 of 1 pinned witnesses");
    const oneOfTwo = await verifyCommand(dir, {
      trustedKeys: pinned,
      witness: [vkeyA, vkeyB],
      witnessesRequired: "1",
    });
    expect(oneOfTwo.exitCode).toBe(0);
    const twoOfTwo = await verifyCommand(dir, {
      trustedKeys: pinned,
      witness: [vkeyA, vkeyB],
      witnessesRequired: "2",
    });
    expect(twoOfTwo.exitCode).toBe(1);
    expect(twoOfTwo.stderr[0]).toMatch(
      /missing witness quorum: cosigned by 1 of the 2 pinned witnesses, 2 required \(not cosigned by auditor\.example\/b\)/,
    );
  });

  it("fails an export whose cosignature was altered", async () => {
    const dir = await exportLog(honest.t);
    dirs.push(dir);
    const file = join(dir, "checkpoints.jsonl");
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    const last = JSON.parse(lines.at(-1)!) as { cosignatures: string[] };
    const sig = last.cosignatures[0]!;
    const b64 = sig.slice(sig.lastIndexOf(" ") + 1);
    const bytes = Buffer.from(b64, "base64");
    bytes[20] = (bytes[20] ?? 0) ^ 1;
    last.cosignatures[0] = `${sig.slice(0, sig.lastIndexOf(" ") + 1)}${bytes.toString("base64")}`;
    lines[lines.length - 1] = JSON.stringify(last);
    await writeFile(file, `${lines.join("\n")}\n`);
    const r = await verifyCommand(dir, { trustedKeys: pinned, witness: [vkeyA] });
    expect(r.exitCode).toBe(1);
    expect(r.stderr[0]).toContain(`the cosignature of witness ${vkeyA} does not verify (altered)`);
  });

  it("SPLIT VIEW: a second log under the same origin and key verifies against the pinned keys, but the witness refuses it and the quorum is missing", async () => {
    const fork = await appWith(database, key, [{ name: "auditor.example/a", url: witnessUrl, vkey: vkeyA }]);
    dirs.push(fork.keysDir);
    try {
      // Longer than the view the witness cosigned (4 entries), so the fork offers a consistency
      // proof from that size — of its own tree, which the witness's root does not match.
      for (const n of [1, 2, 3]) await traffic(fork.t, `the other view ${n}`);
      const cp = (await auditClient({ url: fork.t.app.httpUrl }).getCheckpoint({})).checkpoint!;
      expect(cp.cosignatures).toEqual([]);
      expect(witnessOut.some((l) => l.startsWith("witness: REFUSED a checkpoint inconsistent"))).toBe(true);
      expect(fork.t.logs.join("")).toMatch(/witness: refused the checkpoint \(422\)/);
      const dir = await exportLog(fork.t);
      dirs.push(dir);
      // The pinned keys alone cannot tell the two views apart…
      expect((await verifyCommand(dir, { trustedKeys: pinned })).exitCode).toBe(0);
      // …the witness's missing cosignature does.
      const r = await verifyCommand(dir, { trustedKeys: pinned, witness: [vkeyA] });
      expect(r.exitCode).toBe(1);
      expect(r.stderr[0]).toMatch(
        /missing witness quorum: cosigned by 0 of the 1 pinned witnesses, 1 required/,
      );
    } finally {
      await fork.t.close();
    }
  });

  it("refuses --witnesses-required without witnesses, or more than given", async () => {
    expect((await verifyCommand(work, { trustedKeys: pinned, witnessesRequired: "1" })).stderr[0]).toMatch(
      /--witnesses-required needs the witnesses' keys/,
    );
    expect(
      (await verifyCommand(work, { trustedKeys: pinned, witness: [vkeyA], witnessesRequired: "2" })).exitCode,
    ).toBe(2);
  });
});
