import { describe, expect, it } from "vitest";
import { signCheckpoint } from "./checkpoint.js";
import { type DsseEnvelope, entryLeafHash, signEnvelope } from "./dsse.js";
import { generateSigningKey, KeyRing } from "./keys.js";
import { MerkleTree } from "./merkle.js";
import { verifyCheckpointConsistency, verifyEntryInclusion } from "./proofs.js";

const ORIGIN = "sovr.test/audit";
const key = generateSigningKey();
const ring = new KeyRing([
  { keyId: key.keyId, publicKeyRaw: key.publicKeyRaw, validFromUs: 0, validUntilUs: null },
]);
const tree = new MerkleTree();
const envelopes: DsseEnvelope[] = [];
for (let i = 0; i < 21; i++) {
  const env = signEnvelope(new TextEncoder().encode(`{"i":${i}}`), key);
  envelopes.push(env);
  tree.append(entryLeafHash(env));
}
const checkpointAt = (size: number, k = key) =>
  signCheckpoint({ origin: ORIGIN, size, rootHash: tree.root(size) }, k);

describe("verifyEntryInclusion", () => {
  it("accepts every entry against a later checkpoint", () => {
    const cp = checkpointAt(21);
    for (let seq = 0; seq < 21; seq++) {
      const r = verifyEntryInclusion({
        envelope: envelopes[seq]!,
        seq,
        proof: tree.inclusionProof(seq, 21),
        checkpoint: cp,
        origin: ORIGIN,
        ring,
      });
      expect(r.ok, `seq ${seq}`).toBe(true);
    }
  });

  it("rejects a wrong seq, an entry beyond the checkpoint, a forged checkpoint and a foreign signature", () => {
    const cp = checkpointAt(13);
    const base = {
      envelope: envelopes[5]!,
      seq: 5,
      proof: tree.inclusionProof(5, 13),
      checkpoint: cp,
      origin: ORIGIN,
      ring,
    };
    expect(verifyEntryInclusion(base).ok).toBe(true);
    expect(verifyEntryInclusion({ ...base, seq: 6 })).toMatchObject({
      ok: false,
      what: expect.stringContaining("inclusion"),
    });
    expect(verifyEntryInclusion({ ...base, envelope: envelopes[6]! }).ok).toBe(false);
    expect(verifyEntryInclusion({ ...base, seq: 15, envelope: envelopes[15]! })).toMatchObject({ ok: false });
    expect(
      verifyEntryInclusion({ ...base, checkpoint: checkpointAt(13, generateSigningKey()) }),
    ).toMatchObject({
      ok: false,
      what: expect.stringContaining("checkpoint"),
    });
    const foreign = signEnvelope(new TextEncoder().encode('{"i":5}'), generateSigningKey());
    expect(verifyEntryInclusion({ ...base, envelope: foreign })).toMatchObject({
      ok: false,
      what: expect.stringContaining("unknown key"),
    });
  });
});

describe("verifyCheckpointConsistency", () => {
  it("accepts an extension and rejects a fork", () => {
    expect(
      verifyCheckpointConsistency({
        older: checkpointAt(7),
        newer: checkpointAt(21),
        proof: tree.consistencyProof(7, 21),
        origin: ORIGIN,
        ring,
      }).ok,
    ).toBe(true);
    const forkTree = MerkleTree.fromLeafHashes(
      [...Array(21).keys()].map((i) => (i === 3 ? entryLeafHash(envelopes[4]!) : tree.leaf(i))),
    );
    const forked = signCheckpoint({ origin: ORIGIN, size: 21, rootHash: forkTree.root() }, key);
    expect(
      verifyCheckpointConsistency({
        older: checkpointAt(7),
        newer: forked,
        proof: forkTree.consistencyProof(7, 21),
        origin: ORIGIN,
        ring,
      }),
    ).toMatchObject({ ok: false, what: expect.stringContaining("not consistent") });
  });
});
