import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { LogTree, StoredLeavesError, TILE_WIDTH } from "./log-tree.js";
import { leafHash, MerkleTree, verifyInclusion } from "./merkle.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const hexAll = (bs: Uint8Array[]) => bs.map(hex);

function leaves(n: number): Uint8Array[] {
  return Array.from({ length: n }, () => leafHash(randomBytes(8)));
}

/** A store of leaf hashes that counts its reads; `stored` may be changed behind the tree. */
function store(stored: Uint8Array[]) {
  const reads: [number, number][] = [];
  const read = async (start: number, end: number) => {
    reads.push([start, end]);
    await new Promise((r) => setImmediate(r));
    return stored.slice(start, end);
  };
  return { reads, read };
}

function grown(all: Uint8Array[], cacheTiles?: number) {
  const s = store(all);
  const tree = new LogTree(s.read, cacheTiles);
  for (const l of all) tree.append(l);
  return { tree, ...s };
}

describe("LogTree against the all-in-memory MerkleTree", () => {
  const all = leaves(5 * TILE_WIDTH + 37);
  const full = MerkleTree.fromLeafHashes(all);
  // Sizes on and around every tile edge, and a few inside.
  const sizes = [1, 2, 3, 255, 256, 257, 300, 511, 512, 513, 767, 768, 1024, 1025, 1100, 1280, all.length];

  it("gives the same roots for every size around the tile edges, and the current root without reads", async () => {
    const { tree, reads } = grown(all);
    expect(tree.size).toBe(all.length);
    expect(hex(tree.currentRoot())).toBe(hex(full.root()));
    expect(reads).toEqual([]);
    for (const n of sizes) expect(hex(await tree.root(n)), `size ${n}`).toBe(hex(full.root(n)));
    expect(hex(await tree.root(0))).toBe(hex(full.root(0)));
  });

  it("gives the same inclusion proofs, reading at most the leaf's tile and the edge's", async () => {
    const { tree, reads } = grown(all, 0);
    for (const n of sizes) {
      for (const i of [0, 1, n >> 1, n - 2, n - 1].filter((i) => i >= 0 && i < n)) {
        reads.length = 0;
        const proof = await tree.inclusionProof(i, n);
        expect(hexAll(proof), `leaf ${i} of ${n}`).toEqual(hexAll(full.inclusionProof(i, n)));
        expect(verifyInclusion(all[i]!, i, n, proof, full.root(n))).toBe(true);
        expect(reads.length).toBeLessThanOrEqual(2);
        for (const [start, end] of reads) expect(end - start).toBe(TILE_WIDTH);
      }
    }
  });

  it("gives the same consistency proofs for pairs across tiles", async () => {
    const { tree, reads } = grown(all, 0);
    for (const m of sizes) {
      for (const n of sizes.filter((n) => n >= m)) {
        reads.length = 0;
        expect(hexAll(await tree.consistencyProof(m, n)), `${m} → ${n}`).toEqual(
          hexAll(full.consistencyProof(m, n)),
        );
        expect(reads.length).toBeLessThanOrEqual(3);
      }
    }
  });

  it("holds the last 256 to 511 leaves and reads older ones back", async () => {
    const { tree, reads } = grown(all);
    const n = all.length;
    expect(hex(tree.recentLeaf(n - 1)!)).toBe(hex(all[n - 1]!));
    expect(hex(tree.recentLeaf(n - 37 - TILE_WIDTH)!)).toBe(hex(all[n - 37 - TILE_WIDTH]!));
    expect(tree.recentLeaf(n - 38 - TILE_WIDTH)).toBeUndefined();
    expect(reads).toEqual([]);
    expect(hex(await tree.leaf(5))).toBe(hex(all[5]!));
    expect(reads).toEqual([[0, TILE_WIDTH]]);
    expect(() => tree.recentLeaf(n)).toThrow(RangeError);
  });

  it("keeps the tiles it read for the next proofs, and reads a tile once for concurrent proofs", async () => {
    const { tree, reads } = grown(all, 2);
    await Promise.all([tree.inclusionProof(3, 1100), tree.inclusionProof(4, 1100), tree.leaf(7)]);
    expect(reads).toEqual([[0, TILE_WIDTH]]);
    await tree.inclusionProof(9, 1100);
    expect(reads).toHaveLength(1);
    // Two more tiles push the first out of a cache of two.
    await tree.inclusionProof(TILE_WIDTH + 1, 1100);
    await tree.inclusionProof(2 * TILE_WIDTH + 1, 1100);
    await tree.inclusionProof(9, 1100);
    expect(reads).toEqual([
      [0, TILE_WIDTH],
      [TILE_WIDTH, 2 * TILE_WIDTH],
      [2 * TILE_WIDTH, 3 * TILE_WIDTH],
      [0, TILE_WIDTH],
    ]);
  });

  it("answers for the size asked while leaves are appended during its read", async () => {
    const first = all.slice(0, 600);
    const s = store(all);
    const tree = new LogTree(s.read);
    for (const l of first) tree.append(l);
    const proof = tree.inclusionProof(10, 600);
    const older = tree.root(513);
    // The edge tile (512..599) becomes complete, then older than the last one, during the read.
    for (const l of all.slice(600)) tree.append(l);
    expect(hexAll(await proof)).toEqual(hexAll(full.inclusionProof(10, 600)));
    expect(hex(await older)).toBe(hex(full.root(513)));
    expect(hex(await tree.root(600))).toBe(hex(full.root(600)));
  });
});

describe("LogTree started from tile hashes", () => {
  it("answers as the tree grown leaf by leaf, reading the tiles it took by hash", async () => {
    const all = leaves(3 * TILE_WIDTH + 40);
    const full = MerkleTree.fromLeafHashes(all);
    const s = store(all);
    const tree = new LogTree(s.read, 0);
    for (let t = 0; t < 3; t++)
      tree.appendTile(MerkleTree.fromLeafHashes(all.slice(t * TILE_WIDTH, (t + 1) * TILE_WIDTH)).root());
    for (const l of all.slice(3 * TILE_WIDTH)) tree.append(l);
    expect(tree.completeTiles).toBe(3);
    expect(hex(tree.currentRoot())).toBe(hex(full.root()));
    expect(s.reads).toEqual([]);
    // The last complete tile was taken by its hash: memory does not hold its leaves.
    expect(tree.recentLeaf(3 * TILE_WIDTH - 1)).toBeUndefined();
    expect(hex(tree.recentLeaf(3 * TILE_WIDTH)!)).toBe(hex(all[3 * TILE_WIDTH]!));
    for (const i of [0, TILE_WIDTH + 3, 3 * TILE_WIDTH - 1, all.length - 1])
      expect(hexAll(await tree.inclusionProof(i, all.length))).toEqual(
        hexAll(full.inclusionProof(i, all.length)),
      );
    expect(hexAll(await tree.consistencyProof(300, all.length))).toEqual(
      hexAll(full.consistencyProof(300, all.length)),
    );
    expect(() => tree.appendTile(full.root())).toThrow(/not on a tile boundary/);
  });
});

describe("LogTree against storage that changed", () => {
  it("refuses a tile whose stored leaves do not hash to the tile it was built from", async () => {
    const all = leaves(3 * TILE_WIDTH);
    const stored = all.slice();
    const { read } = store(stored);
    const tree = new LogTree(read);
    for (const l of all) tree.append(l);
    stored[17] = leafHash(Uint8Array.of(1));
    await expect(tree.inclusionProof(17, 3 * TILE_WIDTH)).rejects.toThrow(StoredLeavesError);
    await expect(tree.root(100)).rejects.toThrow(/leaves 0\.\.255 in storage do not hash/);
    // The tile held in memory is not read: the tree answers from what it took.
    expect(hex(await tree.leaf(3 * TILE_WIDTH - 1))).toBe(hex(all.at(-1)!));
  });

  it("refuses a tile storage holds only part of", async () => {
    const all = leaves(3 * TILE_WIDTH);
    const { read } = store(all.slice(0, 100));
    const tree = new LogTree(read);
    for (const l of all) tree.append(l);
    await expect(tree.leaf(0)).rejects.toThrow(/leaves 0\.\.255: storage holds 100 of the 256/);
  });

  it("rejects sizes and indexes out of range", async () => {
    const tree = new LogTree(store([]).read);
    for (const l of leaves(10)) tree.append(l);
    expect(() => tree.root(11)).toThrow(RangeError);
    expect(() => tree.inclusionProof(10, 10)).toThrow(RangeError);
    expect(() => tree.consistencyProof(5, 4)).toThrow(RangeError);
    expect(() => tree.consistencyProof(-1, 4)).toThrow(RangeError);
  });
});
