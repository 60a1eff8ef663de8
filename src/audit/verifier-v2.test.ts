/**
 * A whole-log export with records of both formats: v1 records written before tenant_seq keep
 * verifying, and every tenant's v2 records must be numbered 1, 2, 3 … in log order.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { signCheckpoint } from "./checkpoint.js";
import { entryLeafHash, signEnvelope } from "./dsse.js";
import { catalogDocumentRevision } from "./export-catalogs.js";
import { type ExportEntry, exportKeys, writeExport } from "./export-format.js";
import { outcomeInput, sampleDecisionInput, sampleDecisionV2 } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";
import { MerkleTree } from "./merkle.js";
import { buildDecisionRecord, buildOutcomeRecord, encodeRecord, withTenantSeq } from "./record.js";
import { verifyExport } from "./verifier.js";

const ORIGIN = "sovr.test/audit";
// The catalog revision the v2 decisions refer to, which the export carries (docs/audit.md §5).
const CATALOG = '{"providers":[]}';
const REVISION = catalogDocumentRevision(CATALOG);
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
        : withTenantSeq(sampleDecisionV2({ principal, catalog_revision: REVISION }), n);
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
  await mkdir(join(dir, "catalogs"));
  await writeFile(join(dir, "catalogs", `${REVISION}.json`), CATALOG);
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

  it("fails a v2 export without the catalog revision its decisions refer to, naming it", async () => {
    const dir = await exportOf([
      ["ta", undefined],
      ["ta", 1],
    ]);
    await rm(join(dir, "catalogs", `${REVISION}.json`));
    const r = await verifyExport(dir);
    expect(r.ok).toBe(false);
    expect(r.firstError).toEqual({
      catalog: REVISION,
      seq: 2,
      what: `catalog revision ${REVISION} (referenced by seq 2) is missing: no catalogs/${REVISION}.json`,
    });
  });

  it("fails when a catalog revision's file was altered", async () => {
    const dir = await exportOf([["ta", 1]]);
    await writeFile(join(dir, "catalogs", `${REVISION}.json`), CATALOG.replace("[]", "[ ]"));
    const r = await verifyExport(dir);
    expect(r.firstError?.catalog).toBe(REVISION);
    expect(r.firstError?.what).toMatch(
      /content hashes to [0-9a-f]{64}, not [0-9a-f]{64}: the catalog revision was altered/,
    );
  });
});
