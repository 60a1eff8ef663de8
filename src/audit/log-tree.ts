/**
 * The server's Merkle tree of one log shard, with the leaves left in the database.
 *
 * The tree is cut into tiles of 256 leaves (C2SP tlog-tiles' height 8). Memory holds:
 * - the hash of every complete tile, with the levels above them: the upper part of the tree, in
 *   a {@link MerkleTree} whose leaves are tile hashes (64 bytes per 256 records);
 * - the leaves of the tile being filled, and of the one completed last (for checking this
 *   process's own commits against the rows the tree took);
 * - a few tiles read back for proofs, least recently used first out.
 *
 * A perfect subtree of ≥ 256 leaves is a node of the upper tree; a smaller one lies in one tile.
 * A root or proof therefore needs at most three tiles besides the upper tree — the one holding
 * the leaf, and those at the edges m and n —, read back from storage when not held. A tile read
 * back must hash to the tile hash the tree was built from: rows changed in the database after
 * the tree took them are a {@link StoredLeavesError}, not a wrong proof.
 *
 * With every leaf in memory (what `MerkleTree` does for the offline verifier) the server held
 * ~64 bytes per record, for ever: ~5.5 GB a day at 500 records a second.
 */
import {
  consistencyPath,
  equalBytes,
  inclusionPath,
  MerkleTree,
  type PerfectSubtree,
  rootOf,
} from "./merkle.js";

/** Leaves per tile (C2SP tlog-tiles: a tile is 2^8 hashes wide). */
export const TILE_WIDTH = 256;

/** The leaf hashes at [start, end) of the log, in order, as storage holds them. */
export type ReadLeaves = (start: number, end: number) => Promise<Uint8Array[]>;

/** Storage does not hold the leaves the tree was built from. */
export class StoredLeavesError extends Error {
  override readonly name = "StoredLeavesError";
}

const NO_HASH = new Uint8Array(32);

/**
 * An append-only RFC 9162 tree over a log whose leaf hashes storage keeps: appends and the
 * current root need no reads; older roots and proofs read at most three tiles.
 *
 * @example
 * const tree = new LogTree((start, end) => leavesFromDatabase(start, end));
 * for (const leaf of committed) tree.append(leaf);
 * const proof = await tree.inclusionProof(3, tree.size);
 */
export class LogTree {
  /** Its leaves are the hashes of the complete tiles. */
  readonly #tiles = new MerkleTree();
  #edge = new MerkleTree(TILE_WIDTH);
  #previous: MerkleTree | undefined;
  /** Tiles read back, least recently used first. */
  readonly #cache = new Map<number, MerkleTree>();
  readonly #reading = new Map<number, Promise<MerkleTree>>();

  /** `cacheTiles`: tiles read back kept for the next proofs (8 KiB of leaves each). */
  constructor(
    private readonly read: ReadLeaves,
    private readonly cacheTiles = 16,
  ) {}

  /** Number of leaves. */
  get size(): number {
    return this.#tiles.size * TILE_WIDTH + this.#edge.size;
  }

  /** Appends one leaf hash; returns its index. */
  append(leaf: Uint8Array): number {
    const index = this.size;
    this.#edge.append(leaf);
    if (this.#edge.size === TILE_WIDTH) {
      this.#tiles.append(this.#edge.root());
      this.#previous = this.#edge;
      this.#edge = new MerkleTree(TILE_WIDTH);
    }
    return index;
  }

  /** Complete tiles: the leaves below `completeTiles × 256` are in tiles that are full. */
  get completeTiles(): number {
    return this.#tiles.size;
  }

  /** The hash of complete tile `t` (the root of its 256 leaves). */
  tileHash(t: number): Uint8Array {
    return this.#tiles.leaf(t);
  }

  /**
   * Appends a whole tile by its hash (a start from stored tile hashes): its leaves stay in
   * storage, read back — and checked against this hash — when a proof needs them. Only on a
   * tile boundary.
   */
  appendTile(hash: Uint8Array): void {
    if (this.#edge.size !== 0)
      throw new RangeError(`a tile appended at ${this.size}, not on a tile boundary`);
    this.#tiles.append(hash);
    this.#previous = undefined;
  }

  /** The leaf at `index` when memory holds it (the last 256 to 511 leaves), without reading. */
  recentLeaf(index: number): Uint8Array | undefined {
    this.#checkIndex(index, this.size);
    const tile = this.#held(Math.floor(index / TILE_WIDTH));
    return tile?.leaf(index % TILE_WIDTH);
  }

  /** The leaf at `index`, read back from storage when memory does not hold it. */
  async leaf(index: number): Promise<Uint8Array> {
    this.#checkIndex(index, this.size);
    const t = Math.floor(index / TILE_WIDTH);
    const tile = this.#held(t) ?? (await this.#tile(t));
    return tile.leaf(index % TILE_WIDTH);
  }

  /** MTH of all the leaves; no reads. */
  currentRoot(): Uint8Array {
    return rootOf((start, width) => {
      if (width >= TILE_WIDTH) return this.#tiles.subtreeHash(start / TILE_WIDTH, width / TILE_WIDTH);
      return this.#edge.subtreeHash(start % TILE_WIDTH, width);
    }, this.size);
  }

  /** MTH of the first `size` leaves. */
  root(size: number): Promise<Uint8Array> {
    this.#checkSize(size);
    return this.#walk((perfect) => rootOf(perfect, size));
  }

  /** PATH(index, D[0:size]) of RFC 9162 §2.1.3.1. */
  inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    this.#checkSize(size);
    this.#checkIndex(index, size);
    return this.#walk((perfect) => inclusionPath(perfect, index, size));
  }

  /** PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1, for 0 ≤ m ≤ n ≤ size. */
  consistencyProof(m: number, n: number): Promise<Uint8Array[]> {
    this.#checkSize(n);
    if (!Number.isSafeInteger(m) || m < 0 || m > n)
      throw new RangeError(`consistency proof needs 0 <= m <= n, got m=${m} n=${n}`);
    return this.#walk((perfect) => consistencyPath(perfect, m, n));
  }

  /**
   * Runs an RFC walk over the tree; the tiles it needs and memory does not hold are read, then
   * it runs again. Appends during a read only move tiles from held to complete, never change
   * a hash, so the second run sees every tile it needs (those read are kept for it here).
   */
  async #walk<T>(walk: (perfect: PerfectSubtree) => T): Promise<T> {
    const got = new Map<number, MerkleTree>();
    for (;;) {
      const missing = new Set<number>();
      const result = walk((start, width) => {
        if (width >= TILE_WIDTH) return this.#tiles.subtreeHash(start / TILE_WIDTH, width / TILE_WIDTH);
        const t = Math.floor(start / TILE_WIDTH);
        const tile = this.#held(t) ?? got.get(t) ?? this.#cached(t);
        if (tile) return tile.subtreeHash(start % TILE_WIDTH, width);
        missing.add(t);
        return NO_HASH;
      });
      if (missing.size === 0) return result;
      for (const t of missing) got.set(t, await this.#tile(t));
    }
  }

  /** The tile being filled or the one completed last. */
  #held(t: number): MerkleTree | undefined {
    if (t === this.#tiles.size) return this.#edge;
    if (t === this.#tiles.size - 1) return this.#previous;
    return undefined;
  }

  #cached(t: number): MerkleTree | undefined {
    const tile = this.#cache.get(t);
    if (tile) {
      this.#cache.delete(t);
      this.#cache.set(t, tile);
    }
    return tile;
  }

  /** Complete tile `t`, from the cache or read back (one read per tile at a time). */
  #tile(t: number): Promise<MerkleTree> {
    const cached = this.#cached(t);
    if (cached) return Promise.resolve(cached);
    let reading = this.#reading.get(t);
    if (!reading) {
      reading = this.#readTile(t).finally(() => this.#reading.delete(t));
      this.#reading.set(t, reading);
    }
    return reading;
  }

  async #readTile(t: number): Promise<MerkleTree> {
    const start = t * TILE_WIDTH;
    const end = start + TILE_WIDTH;
    const leaves = await this.read(start, end);
    if (leaves.length !== TILE_WIDTH)
      throw new StoredLeavesError(
        `leaves ${start}..${end - 1}: storage holds ${leaves.length} of the ${TILE_WIDTH}`,
      );
    const tile = MerkleTree.fromLeafHashes(leaves, TILE_WIDTH);
    if (!equalBytes(tile.root(), this.#tiles.leaf(t)))
      throw new StoredLeavesError(
        `leaves ${start}..${end - 1} in storage do not hash to the tile the tree was built from: rows were changed after they were taken`,
      );
    this.#cache.set(t, tile);
    if (this.#cache.size > this.cacheTiles) this.#cache.delete(this.#cache.keys().next().value!);
    return tile;
  }

  #checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size)
      throw new RangeError(`tree size ${size} out of range (tree has ${this.size} leaves)`);
  }

  #checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size)
      throw new RangeError(`leaf index ${index} out of range for size ${size}`);
  }
}
