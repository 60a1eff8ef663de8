/**
 * What a receipt adds to a request (docs/audit.md §9): issuing one from what the log's append
 * returned (seq, leaf hash, envelope) — a few string operations, no hash and no signature — next
 * to what the record itself already costs (signing the envelope and hashing its leaf), timed in
 * one process, alternated in blocks so drift hits both. Also the header's bytes. Prints JSON; ns.
 *
 * Run: node --import tsx bench/receipt-cost.ts [--n N]
 */

import { sampleDecisionV2 } from "../src/audit/fixtures/records.js";
import {
  encodeRecord,
  entryLeafHash,
  generateSigningKey,
  receiptIssuer,
  signEnvelope,
  withTenantSeq,
} from "../src/audit/index.js";
import { canonicalize } from "../src/encoding/index.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg("--n") ?? 20_000);
const BLOCK = 1000;

const key = generateSigningKey();
const record = withTenantSeq(sampleDecisionV2(), 1);
const payload = encodeRecord(record);
const envelope = signEnvelope(payload, key);
const entry = { seq: 123_456, leafHash: entryLeafHash(envelope), envelope };
const issue = receiptIssuer("sovereign-router.local/audit");

let sink = 0;
const timeBlock = (fn: () => void): number => {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < BLOCK; i++) fn();
  return Number(process.hrtime.bigint() - t0) / BLOCK;
};
const receipt = () => {
  sink += issue(record.decision_id, entry).length;
};
// What the log already does per record: sign, canonicalise the envelope, hash the leaf.
const recordCost = () => {
  const env = signEnvelope(payload, key);
  sink += canonicalize(env).length + entryLeafHash(env).length;
};

for (let i = 0; i < 3; i++) {
  timeBlock(receipt);
  timeBlock(recordCost);
}
const a: number[] = [];
const b: number[] = [];
for (let done = 0; done < N; done += BLOCK) {
  a.push(timeBlock(receipt));
  b.push(timeBlock(recordCost));
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify({
    n: N,
    receipt_ns: Math.round(median(a)),
    record_sign_and_hash_ns: Math.round(median(b)),
    receipt_bytes: issue(record.decision_id, entry).length,
    sink: sink > 0,
  }),
);
