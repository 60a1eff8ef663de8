import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  EMPTY_ROOT,
  leafHash,
  MerkleTree,
  nodeHash,
  splitPoint,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.js";

// ---- A naive reference: RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 transcribed recursively. ----

function sha(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** MTH(D[n]) over the raw entries. */
function refMth(d: Uint8Array[]): Uint8Array {
  const n = d.length;
  if (n === 0) return sha();
  if (n === 1) return sha(Uint8Array.of(0), d[0]!);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return sha(Uint8Array.of(1), refMth(d.slice(0, k)), refMth(d.slice(k)));
}

/** PATH(m, D[n]). */
function refPath(m: number, d: Uint8Array[]): Uint8Array[] {
  const n = d.length;
  if (n === 1) return [];
  let k = 1;
  while (k * 2 < n) k *= 2;
  if (m < k) return [...refPath(m, d.slice(0, k)), refMth(d.slice(k))];
  return [...refPath(m - k, d.slice(k)), refMth(d.slice(0, k))];
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true). */
function refProof(m: number, d: Uint8Array[]): Uint8Array[] {
  const sub = (m: number, d: Uint8Array[], b: boolean): Uint8Array[] => {
    const n = d.length;
    if (m === n) return b ? [] : [refMth(d)];
    let k = 1;
    while (k * 2 < n) k *= 2;
    if (m <= k) return [...sub(m, d.slice(0, k), b), refMth(d.slice(k))];
    return [...sub(m - k, d.slice(k), false), refMth(d.slice(0, k))];
  };
  return sub(m, d, true);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const hexAll = (bs: Uint8Array[]) => bs.map(hex);

function entries(n: number, seed = "e"): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    new TextEncoder().encode(`${seed}-${i}-${randomBytes(4).toString("hex")}`),
  );
}

function flip(b: Uint8Array, bit = 0): Uint8Array {
  const c = b.slice();
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
}

const MAX = 64;
const data = entries(MAX);
const tree = MerkleTree.fromLeafHashes(data.map(leafHash));

describe("hashing (RFC 9162 §2.1.1)", () => {
  it("hashes the empty tree, leaves and nodes with the RFC's domain separation", () => {
    expect(hex(EMPTY_ROOT)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // SHA-256 of the single byte 0x00: the leaf hash of the empty entry.
    expect(hex(leafHash(new Uint8Array()))).toBe(
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    );
    const a = leafHash(Uint8Array.of(1));
    const b = leafHash(Uint8Array.of(2));
    expect(hex(nodeHash(a, b))).toBe(hex(sha(Uint8Array.of(1), a, b)));
    expect(hex(nodeHash(a, b))).not.toBe(hex(nodeHash(b, a)));
  });
  it("splits at the largest power of two below n", () => {
    expect([2, 3, 4, 5, 8, 9, 1025].map(splitPoint)).toEqual([1, 2, 2, 4, 4, 8, 1024]);
  });
});

describe("MerkleTree against the recursive reference", () => {
  it("root(size) equals MTH for every size 0..64", () => {
    for (let n = 0; n <= MAX; n++) expect(hex(tree.root(n)), `size ${n}`).toBe(hex(refMth(data.slice(0, n))));
  });

  it("inclusionProof equals PATH for every leaf of every size 1..64", () => {
    for (let n = 1; n <= MAX; n++) {
      for (let m = 0; m < n; m++) {
        expect(hexAll(tree.inclusionProof(m, n)), `m=${m} n=${n}`).toEqual(
          hexAll(refPath(m, data.slice(0, n))),
        );
      }
    }
  });

  it("consistencyProof equals PROOF for every pair 1 <= m < n <= 64", () => {
    for (let n = 1; n <= MAX; n++) {
      for (let m = 1; m < n; m++) {
        expect(hexAll(tree.consistencyProof(m, n)), `m=${m} n=${n}`).toEqual(
          hexAll(refProof(m, data.slice(0, n))),
        );
      }
    }
  });

  it("gives the same answers whether built at once or grown leaf by leaf", () => {
    const grown = new MerkleTree();
    for (let n = 1; n <= 40; n++) {
      grown.append(leafHash(data[n - 1]!));
      expect(hex(grown.root())).toBe(hex(tree.root(n)));
      expect(hexAll(grown.inclusionProof(n - 1))).toEqual(hexAll(tree.inclusionProof(n - 1, n)));
    }
    expect(grown.size).toBe(40);
    expect(hex(grown.leaf(7))).toBe(hex(leafHash(data[7]!)));
  });

  it("rejects out-of-range sizes, indexes and malformed leaves", () => {
    expect(() => tree.root(MAX + 1)).toThrow(RangeError);
    expect(() => tree.inclusionProof(5, 5)).toThrow(RangeError);
    expect(() => tree.inclusionProof(-1, 5)).toThrow(RangeError);
    expect(() => tree.consistencyProof(6, 5)).toThrow(RangeError);
    expect(() => tree.consistencyProof(1, MAX + 1)).toThrow(RangeError);
    expect(() => new MerkleTree().append(new Uint8Array(31))).toThrow(RangeError);
    expect(tree.consistencyProof(0, 10)).toEqual([]);
    expect(tree.consistencyProof(10, 10)).toEqual([]);
  });
});

describe("verifyInclusion (RFC 9162 §2.1.3.2)", () => {
  it("accepts every leaf of every size 1..64 and rejects a wrong leaf, index, size, root or path", () => {
    for (let n = 1; n <= MAX; n++) {
      const root = tree.root(n);
      for (let m = 0; m < n; m++) {
        const leaf = leafHash(data[m]!);
        const proof = tree.inclusionProof(m, n);
        expect(verifyInclusion(leaf, m, n, proof, root), `m=${m} n=${n}`).toBe(true);
        expect(verifyInclusion(flip(leaf), m, n, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, m, n, proof, flip(root, 255))).toBe(false);
        if (n > 1) {
          expect(verifyInclusion(leaf, (m + 1) % n, n, proof, root)).toBe(false);
          expect(verifyInclusion(leaf, m, n, proof.slice(0, -1), root)).toBe(false);
          expect(verifyInclusion(leaf, m, n, [...proof, proof[0]!], root)).toBe(false);
          const i = (m * 7) % proof.length;
          const bad = proof.map((p, j) => (j === i ? flip(p, 100) : p));
          expect(verifyInclusion(leaf, m, n, bad, root)).toBe(false);
        }
        // (A size alone is not bound by the path: for n = 3 the proof of leaf 0 also checks as size 4
        // against the same root. The root, signed with its size in a checkpoint, binds it.)
        if (n < MAX && m + 1 < n)
          expect(verifyInclusion(leaf, m, n + 1, proof, tree.root(n + 1))).toBe(false);
      }
    }
  });

  it("rejects an index not below the size, and hashes of the wrong length", () => {
    const leaf = leafHash(data[0]!);
    expect(verifyInclusion(leaf, 1, 1, [], leaf)).toBe(false);
    expect(verifyInclusion(leaf, 0, 1, [], leaf)).toBe(true);
    expect(verifyInclusion(leaf, 0, 2, [new Uint8Array(31)], tree.root(2))).toBe(false);
    expect(verifyInclusion(leaf, 0, 0, [], EMPTY_ROOT)).toBe(false);
  });
});

describe("verifyConsistency (RFC 9162 §2.1.4.2)", () => {
  it("accepts every pair m <= n of sizes 1..64 and rejects tampered roots and proofs", () => {
    for (let n = 1; n <= MAX; n++) {
      const rootN = tree.root(n);
      for (let m = 1; m <= n; m++) {
        const rootM = tree.root(m);
        const proof = tree.consistencyProof(m, n);
        expect(verifyConsistency(m, n, rootM, rootN, proof), `m=${m} n=${n}`).toBe(true);
        expect(verifyConsistency(m, n, flip(rootM), rootN, proof)).toBe(false);
        expect(verifyConsistency(m, n, rootM, flip(rootN, 9), proof)).toBe(false);
        if (m < n) {
          for (let i = 0; i < proof.length; i++) {
            const bad = proof.map((p, j) => (j === i ? flip(p, 17) : p));
            expect(verifyConsistency(m, n, rootM, rootN, bad), `m=${m} n=${n} i=${i}`).toBe(false);
          }
          expect(verifyConsistency(m, n, rootM, rootN, proof.slice(1))).toBe(false);
          expect(verifyConsistency(m, n, rootM, rootN, [...proof, rootN])).toBe(false);
          expect(verifyConsistency(m, n, rootM, rootN, [])).toBe(false);
          // The roots swapped, or the sizes misstated, do not verify.
          expect(verifyConsistency(m, n, rootN, rootM, proof)).toBe(false);
          if (n < MAX) expect(verifyConsistency(m, n + 1, rootM, tree.root(n + 1), proof)).toBe(false);
        }
      }
    }
  });

  it("does not accept a consistency proof between trees that differ in an old leaf", () => {
    const forked = data.slice(0, 20);
    forked[3] = new TextEncoder().encode("forged");
    const other = MerkleTree.fromLeafHashes(forked.map(leafHash));
    for (const m of [4, 5, 8, 13]) {
      expect(verifyConsistency(m, 20, tree.root(m), other.root(20), other.consistencyProof(m, 20))).toBe(
        false,
      );
      expect(verifyConsistency(m, 20, tree.root(m), other.root(20), tree.consistencyProof(m, 20))).toBe(
        false,
      );
    }
  });

  it("handles the trivial cases m = 0 and m = n, and rejects m > n", () => {
    expect(verifyConsistency(0, 5, EMPTY_ROOT, tree.root(5), [])).toBe(true);
    expect(verifyConsistency(0, 5, tree.root(1), tree.root(5), [])).toBe(false);
    expect(verifyConsistency(5, 5, tree.root(5), tree.root(5), [])).toBe(true);
    expect(verifyConsistency(5, 5, tree.root(5), tree.root(6), [])).toBe(false);
    expect(verifyConsistency(5, 5, tree.root(5), tree.root(5), [tree.root(1)])).toBe(false);
    expect(verifyConsistency(6, 5, tree.root(6), tree.root(5), tree.consistencyProof(5, 6))).toBe(false);
  });
});

describe("random trees (property test)", () => {
  it("verifies proofs for random sizes of random trees up to 3000 leaves", () => {
    const big = MerkleTree.fromLeafHashes(entries(3000, "r").map(leafHash));
    for (let t = 0; t < 300; t++) {
      const n = 1 + Math.floor(Math.random() * big.size);
      const m = 1 + Math.floor(Math.random() * n);
      const i = Math.floor(Math.random() * n);
      const ctx = `n=${n} m=${m} i=${i}`;
      expect(verifyInclusion(big.leaf(i), i, n, big.inclusionProof(i, n), big.root(n)), ctx).toBe(true);
      expect(verifyConsistency(m, n, big.root(m), big.root(n), big.consistencyProof(m, n)), ctx).toBe(true);
      expect(big.inclusionProof(i, n).length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
      expect(big.consistencyProof(m, n).length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 1);
    }
  });
});
