/**
 * The browser verifier (console/lib/*.js) against the server's own signing and hashing
 * (src/audit), run under Node's WebCrypto: what the log signs, the browser accepts; one byte
 * off, an unpinned key or a witness that did not cosign, it refuses. The browser tests
 * (console.test.ts, console-standalone.test.ts) run the same modules in chromium end to end.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain browser modules without types
import { canonicalize as browserCanonical } from "../../console/lib/canonical.js";
// @ts-expect-error plain browser modules without types
import { envelopeLeafHash, verifyEnvelope } from "../../console/lib/dsse.js";
// @ts-expect-error plain browser modules without types
import { loadKeyRing } from "../../console/lib/keyring.js";
// @ts-expect-error plain browser modules without types
import { MerkleAccumulator, verifyConsistencyProof, verifyInclusionProof } from "../../console/lib/merkle.js";
// @ts-expect-error plain browser modules without types
import { checkCosignatures, openCheckpointNote, parseWitnessKey } from "../../console/lib/note.js";
import { signCheckpoint } from "../../src/audit/checkpoint.js";
import { cosignatureSigner, cosignatureVerifier } from "../../src/audit/cosignature.js";
import { entryLeafHash, signEnvelope } from "../../src/audit/dsse.js";
import { generateSigningKey, type SigningKey } from "../../src/audit/keys.js";
import { MerkleTree } from "../../src/audit/merkle.js";
import { parseNote, signNote } from "../../src/audit/note.js";
import { canonicalize } from "../../src/encoding/canonical-json.js";
import { REPO } from "../support/app.js";

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const ORIGIN = "sovr.test/audit";

function ring(keys: SigningKey[], origin = ORIGIN) {
  return loadKeyRing(
    {
      origin,
      keys: keys.map((k) => ({ key_id: k.keyId, algorithm: "ed25519", public_key: b64(k.publicKeyRaw) })),
    },
    "pinned",
  );
}

// @ts-expect-error a plain .mjs script without types
const { buildStandalone } = await import("../../scripts/build-standalone-verifier.mjs");

describe("console/lib against src/audit", () => {
  it("console/sovr-verify.html is the build of these modules (node scripts/build-standalone-verifier.mjs)", () => {
    expect(buildStandalone()).toBe(readFileSync(join(REPO, "console/sovr-verify.html"), "utf8"));
  });

  const key = generateSigningKey();
  const other = generateSigningKey();
  const record = {
    v: 2,
    kind: "decision",
    plan: ["sim-eu/chat-small"],
    time_us: 1,
    tenant_seq: 1,
    s: "é\u2028",
  };

  it("canonical JSON is the server's", () => {
    expect(browserCanonical(record)).toBe(canonicalize(record));
    expect(() => browserCanonical({ x: 1.5 })).toThrow();
  });

  it("accepts what the log signs, refuses a byte changed, an unpinned key and a non-canonical payload", async () => {
    const env = signEnvelope(new TextEncoder().encode(canonicalize(record)), key);
    const pinned = await ring([key]);
    expect(await verifyEnvelope(env, pinned)).toMatchObject({ ok: true, keyIds: [key.keyId], record });
    expect(b64(await envelopeLeafHash(env))).toBe(b64(entryLeafHash(env)));
    const forged = {
      ...env,
      payload: b64(new TextEncoder().encode(canonicalize({ ...record, plan: ["sim-us/x"] }))),
    };
    expect((await verifyEnvelope(forged, pinned)).reason).toMatch(/^bad signature by key/);
    expect((await verifyEnvelope(env, await ring([other]))).reason).toMatch(/not pinned/);
    const spaced = signEnvelope(new TextEncoder().encode(JSON.stringify(record, null, 1)), key);
    expect((await verifyEnvelope(spaced, pinned)).reason).toBe("record is not in canonical form");
    await expect(
      loadKeyRing({ keys: [{ key_id: other.keyId, public_key: b64(key.publicKeyRaw) }] }, "pinned"),
    ).rejects.toThrow(/not derived/);
  });

  it("inclusion and consistency proofs and tree heads agree with the server's tree for every leaf of sizes 1..17", async () => {
    const tree = new MerkleTree();
    const acc = new MerkleAccumulator();
    for (let n = 1; n <= 17; n++) {
      const leaf = new Uint8Array(32).fill(n);
      tree.append(leaf);
      await acc.push(leaf);
      expect(b64(await acc.root())).toBe(b64(tree.root()));
      for (let i = 0; i < n; i++) {
        const proof = tree.inclusionProof(i, n);
        expect(await verifyInclusionProof(i, n, tree.leaf(i), proof, tree.root(n))).toBe(true);
        if (n > 1)
          expect(await verifyInclusionProof((i + 1) % n, n, tree.leaf(i), proof, tree.root(n))).toBe(false);
      }
      for (let m = 1; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        expect(await verifyConsistencyProof(m, n, tree.root(m), tree.root(n), proof)).toBe(true);
        const wrong = tree.root(m).map((b) => b ^ 1);
        expect(await verifyConsistencyProof(m, n, wrong, tree.root(n), proof)).toBe(false);
      }
    }
  });

  it("opens the log's checkpoints and checks witness cosignatures", async () => {
    const cp = signCheckpoint({ origin: ORIGIN, size: 3, rootHash: new Uint8Array(32).fill(9) }, key);
    const opened = await openCheckpointNote(cp, await ring([key]));
    expect(opened).toMatchObject({ origin: ORIGIN, size: 3, keyId: key.keyId });
    await expect(openCheckpointNote(cp, await ring([other]))).rejects.toThrow(/no signature by a pinned key/);
    await expect(openCheckpointNote(cp, await ring([key], "another/origin"))).rejects.toThrow(
      /not the pinned origin/,
    );
    await expect(openCheckpointNote(cp.replace("\n3\n", "\n4\n"), await ring([key]))).rejects.toThrow(
      /does not verify/,
    );

    const witness = generateSigningKey();
    const cosigned = signNote(opened.text, [cosignatureSigner("w.test/w", witness, () => 1_700_000_000_000)]);
    const line = parseNote(cosigned).signatures[0]!;
    const cosig = `\u2014 ${line.name} ${line.base64}`;
    const vkey = cosignatureVerifier("w.test/w", witness.publicKeyRaw).vkey;
    const w = await parseWitnessKey(vkey);
    expect(await checkCosignatures(opened.text, [cosig], [w])).toEqual([
      { name: "w.test/w", status: "verified", time: 1_700_000_000 },
    ]);
    expect((await checkCosignatures(opened.text, [cosig], []))[0].status).toBe("not pinned");
    const altered = `${opened.text.slice(0, -2)}8\n`;
    expect((await checkCosignatures(altered, [cosig], [w]))[0].status).toBe("FAILED");
  });
});
