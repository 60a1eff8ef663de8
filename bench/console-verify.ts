/**
 * The standalone verifier's throughput in chromium (docs/console.md): an export of N signed v2
 * decision records (checkpoints every 1,000) is written to a temp dir, opened from disk in
 * console/sovr-verify.html and verified against its keys (WebCrypto Ed25519 per record, SHA-256
 * per leaf and node); the same export through the CLI's verifyExport (node:crypto) for scale.
 * Prints JSON. Run: node --import tsx bench/console-verify.ts [--n N]
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { sampleDecisionV2 } from "../src/audit/fixtures/records.js";
import {
  ExportWriter,
  encodeRecord,
  entryLeafHash,
  exportKeys,
  generateSigningKey,
  MerkleTree,
  signCheckpoint,
  signEnvelope,
  verifyExport,
  withTenantSeq,
} from "../src/audit/index.js";
import { uuidv7 } from "../src/encoding/index.js";
import { launchChromium } from "../test/support/browser.js";

const i = process.argv.indexOf("--n");
const N = Number(i >= 0 ? process.argv[i + 1] : 50_000);
const ORIGIN = "bench.sovr/audit";

const dir = await mkdtemp(join(tmpdir(), "sovr-console-bench-"));
const key = generateSigningKey();
const w = await ExportWriter.open(
  dir,
  exportKeys(ORIGIN, [
    { keyId: key.keyId, publicKeyRaw: key.publicKeyRaw, validFromUs: 0, validUntilUs: null },
  ]),
);
// One catalog revision every record refers to, as an export carries it (catalogs/<sha256>.json).
const catalog = Buffer.from('{"bench":true}');
const revision = createHash("sha256").update(catalog).digest("hex");
await mkdir(join(dir, "catalogs"));
await writeFile(join(dir, "catalogs", `${revision}.json`), catalog);
const tree = new MerkleTree();
const notes: { size: number; note: string }[] = [];
for (let seq = 0; seq < N; seq++) {
  const record = {
    ...withTenantSeq(sampleDecisionV2(), seq + 1),
    decision_id: uuidv7(),
    catalog_revision: revision,
  };
  const envelope = signEnvelope(encodeRecord(record), key);
  tree.append(entryLeafHash(envelope));
  await w.writeRecord({ seq, envelope });
  if ((seq + 1) % 1000 === 0 || seq === N - 1)
    notes.push({
      size: seq + 1,
      note: signCheckpoint({ origin: ORIGIN, size: seq + 1, rootHash: tree.root() }, key),
    });
}
for (const c of notes) await w.writeCheckpoint(c);
await w.close();

const browser = await launchChromium();
const page = await browser.newPage();
await page.goto(pathToFileURL(join(import.meta.dirname, "../console/sovr-verify.html")).href);
await page.setInputFiles("#pinned", join(dir, "keys.json"));
await page.setInputFiles(
  "#export",
  ["records.jsonl", "checkpoints.jsonl", "keys.json", `catalogs/${revision}.json`].map((f) => join(dir, f)),
);
const t0 = performance.now();
await page.click("#verify-export");
await page.waitForSelector("#verdict", { timeout: 600_000 });
const browserMs = performance.now() - t0;
const verdict = await page.locator("#verdict").textContent();
await browser.close();

const t1 = performance.now();
const cli = await verifyExport(dir);
const cliMs = performance.now() - t1;
await rm(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    records: N,
    browser: { verdict, ms: Math.round(browserMs), recordsPerSecond: Math.round(N / (browserMs / 1000)) },
    cli: { ok: cli.ok, ms: Math.round(cliMs), recordsPerSecond: Math.round(N / (cliMs / 1000)) },
  }),
);
