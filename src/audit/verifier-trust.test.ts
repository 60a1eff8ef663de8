/**
 * Pinned trust: an operator who rewrites the log and re-signs it with a key of its own ships an
 * export that is perfectly self-consistent. Checked against the export's own keys.json it
 * passes; checked against the keys the auditor pinned it fails, naming the key.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { signCheckpoint } from "./checkpoint.js";
import { entryLeafHash, signEnvelope } from "./dsse.js";
import { type ExportEntry, exportKeys, writeExport } from "./export-format.js";
import { sampleDecisionInput } from "./fixtures/records.js";
import { generateSigningKey, type PublicKeyInfo, type SigningKey, toPublishedKey } from "./keys.js";
import { MerkleTree } from "./merkle.js";
import { buildDecisionRecord, encodeRecord } from "./record.js";
import { verifyExport } from "./verifier.js";

const ORIGIN = "sovr.test/trust";
const T0 = 1_763_780_000_000_000;
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const info = (k: SigningKey): PublicKeyInfo => ({
  keyId: k.keyId,
  publicKeyRaw: k.publicKeyRaw,
  validFromUs: T0,
  validUntilUs: null,
});

/** An export of `models.length` decisions signed by `signer`, listing `listed` in keys.json. */
async function exportOf(signer: SigningKey, models: string[], listed = [signer], origin = ORIGIN) {
  const tree = new MerkleTree();
  const entries: ExportEntry[] = models.map((model, i) => {
    const time_us = T0 + i * 1000;
    const envelope = signEnvelope(
      encodeRecord(
        buildDecisionRecord(
          sampleDecisionInput({ time_us, request: { ...sampleDecisionInput().request, model } }),
        ),
      ),
      signer,
    );
    tree.append(entryLeafHash(envelope));
    return { seq: i, envelope };
  });
  const checkpoints = [
    { size: tree.size, note: signCheckpoint({ origin, size: tree.size, rootHash: tree.root() }, signer) },
  ];
  const dir = await mkdtemp(join(tmpdir(), "sovr-trust-"));
  dirs.push(dir);
  await writeExport(dir, entries, checkpoints, exportKeys(origin, listed.map(info)));
  return dir;
}

describe("verifyExport with pinned keys", () => {
  const operatorKey = generateSigningKey();
  const forgerKey = generateSigningKey();
  const pinned = { origin: ORIGIN, keys: [toPublishedKey(info(operatorKey))] };

  it("accepts the log signed by the pinned key", async () => {
    const dir = await exportOf(operatorKey, ["a/x", "b/y", "c/z"]);
    const r = await verifyExport(dir, { trustedKeys: pinned });
    expect(r.firstError).toBeUndefined();
    expect(r).toMatchObject({ ok: true, records: 3 });
  });

  it("a rewritten log re-signed with a new key passes on its own keys, and fails pinned, naming the key", async () => {
    const rewritten = await exportOf(forgerKey, ["a/x", "evil/outside-eu", "c/z"]);
    expect((await verifyExport(rewritten)).ok).toBe(true); // self-consistent: that is the attack
    const r = await verifyExport(rewritten, { trustedKeys: pinned });
    expect(r.ok).toBe(false);
    expect(r.firstError?.what).toBe(
      `keys.json: key ${forgerKey.keyId} is not among the trusted keys: the export is signed with a key you did not pin`,
    );
  });

  it("a forged key listed beside the pinned one fails too, even if only some records use it", async () => {
    const dir = await exportOf(operatorKey, ["a/x"], [operatorKey, forgerKey]);
    const r = await verifyExport(dir, { trustedKeys: pinned });
    expect(r.firstError?.what).toContain(`key ${forgerKey.keyId} is not among the trusted keys`);
  });

  it("another log's origin fails, and pinned entries that are not keys are named", async () => {
    const other = await exportOf(operatorKey, ["a/x"], [operatorKey], "sovr.test/other-log");
    expect((await verifyExport(other, { trustedKeys: pinned })).firstError?.what).toBe(
      'keys.json: origin "sovr.test/other-log" is not the pinned origin "sovr.test/trust"',
    );
    const dir = await exportOf(operatorKey, ["a/x"]);
    const broken = { keys: [{ ...toPublishedKey(info(operatorKey)), public_key: "AAAA" }] };
    expect((await verifyExport(dir, { trustedKeys: broken })).firstError?.what).toMatch(
      /^trusted keys: keys\[0\]: key .* public_key is not base64 of 32 bytes$/,
    );
  });
});
