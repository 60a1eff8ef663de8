/**
 * A whole-log export with records of both formats: v1 records written before tenant_seq keep
 * verifying, and every tenant's v2 records must be numbered 1, 2, 3 … in log order.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { signCheckpoint } from "./checkpoint.js";
import { entryLeafHash, signEnvelope } from "./dsse.js";
import { type ExportEntry, exportKeys, writeExport } from "./export-format.js";
import { outcomeInput, sampleDecisionInput, sampleDecisionV2 } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";
import { MerkleTree } from "./merkle.js";
import { buildDecisionRecord, buildOutcomeRecord, encodeRecord, withTenantSeq } from "./record.js";
import { verifyExport } from "./verifier.js";

const ORIGIN = "sovr.test/audit";
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Requests as (tenant, tenant_seq of the decision or undefined for v1); outcomes follow at +1. */
async function exportOf(requests: [string, number | undefined][]): Promise<string> {
  const key = generateSigningKey();
  const tree = new MerkleTree();
  const entries: ExportEntry[] = [];
  const append = (payload: Uint8Array) => {
    const envelope = signEnvelope(payload, key);
    entries.push({ seq: tree.size, envelope });
    tree.append(entryLeafHash(envelope));
  };
  for (const [tenant, n] of requests) {
    const principal = { tenant, workload: "w", roles: ["client"] };
    const d =
      n === undefined
        ? buildDecisionRecord(sampleDecisionInput({ principal }))
        : withTenantSeq(sampleDecisionV2({ principal }), n);
    append(encodeRecord(d));
    const o = outcomeInput(d.decision_id);
    append(encodeRecord(buildOutcomeRecord(n === undefined ? o : { ...o, tenant, tenant_seq: n + 1 })));
  }
  const dir = await mkdtemp(join(tmpdir(), "sovr-verify-v2-"));
  dirs.push(dir);
  const note = signCheckpoint({ origin: ORIGIN, size: tree.size, rootHash: tree.root() }, key);
  await writeExport(
    dir,
    entries,
    [{ size: tree.size, note }],
    exportKeys(ORIGIN, [
      { keyId: key.keyId, publicKeyRaw: key.publicKeyRaw, validFromUs: 0, validUntilUs: null },
    ]),
  );
  return dir;
}

describe("verifying a log of v1 and v2 records", () => {
  it("verifies v1 records followed by each tenant's v2 records numbered from 1", async () => {
    const r = await verifyExport(
      await exportOf([
        ["ta", undefined],
        ["tb", undefined],
        ["ta", 1],
        ["tb", 1],
        ["ta", 3],
      ]),
    );
    expect(r.firstError).toBeUndefined();
    expect(r).toMatchObject({ ok: true, records: 10, checkpointedSize: 10 });
  });

  it("names the missing tenant_seq when the log skips one of a tenant's numbers", async () => {
    const r = await verifyExport(
      await exportOf([
        ["ta", 1],
        ["tb", 1],
        ["ta", 4],
      ]),
    );
    expect(r.ok).toBe(false);
    expect(r.firstError).toEqual({
      seq: 4,
      tenantSeq: 3,
      what: "tenant_seq 3 of tenant ta is missing (the next record of the tenant has tenant_seq 4)",
    });
  });
});
