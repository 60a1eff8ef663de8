/**
 * RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing, proofs and their verification.
 *
 * - §2.1.1 MTH: leaf = SHA-256(0x00 ‖ entry), node = SHA-256(0x01 ‖ left ‖ right), the empty
 *   tree hashes to SHA-256() and a tree of n > 1 leaves splits at k, the largest power of two < n.
 * - §2.1.3 inclusion proofs (PATH) and §2.1.4 consistency proofs (PROOF / SUBPROOF), generated
 *   for any tree size up to the current one.
 * - §2.1.3.2 and §2.1.4.2 verification, step by step as the RFC writes them.
 *
 * Sizes and indexes are plain numbers (safe integers); nothing here uses 32-bit bitwise operators.
 */
import { sha256 } from "../encoding/index.js";

export const HASH_SIZE = 32;

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** SHA-256(0x00 ‖ entry): the hash of one log entry. */
export function leafHash(entry: Uint8Array): Uint8Array {
  const b = new Uint8Array(1 + entry.length);
  b.set(entry, 1);
  return sha256(b);
}

/**
 * {@link leafHash} of the UTF-8 of `text`, without encoding it first: U+0000 is the one byte
 * 0x00 in UTF-8, so the prefixed string hashes as the prefixed bytes.
 */
export function leafHashOfUtf8(text: string): Uint8Array {
  return sha256(`\0${text}`);
}

/** SHA-256(0x01 ‖ left ‖ right): the hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const b = new Uint8Array(1 + left.length + right.length);
  b[0] = 0x01;
  b.set(left, 1);
  b.set(right, 1 + left.length);
  return sha256(b);
}

/** Constant-time-irrelevant byte equality (all inputs here are public). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The largest power of two strictly less than n (n ≥ 2): the split point k of RFC 9162 §2.1.1. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * The hash of the perfect, aligned subtree of `width` leaves starting at leaf `start` (`width` a
 * power of two, `start` a multiple of it), for a subtree that exists in the tree being walked.
 */
export type PerfectSubtree = (start: number, width: number) => Uint8Array;

/**
 * MTH(D[start:end]) for a range the RFC's recursion produces (start aligned to the next power
 * of two ≥ end − start): the left part of every split is a perfect subtree.
 */
function subtree(perfect: PerfectSubtree, start: number, end: number): Uint8Array {
  const size = end - start;
  const width = perfectWidth(size);
  if (width === size && start % width === 0) return perfect(start, width);
  const k = splitPoint(size);
  return nodeHash(subtree(perfect, start, start + k), subtree(perfect, start + k, end));
}

/** The smallest power of two ≥ size (size ≥ 1). */
function perfectWidth(size: number): number {
  let width = 1;
  while (width < size) width *= 2;
  return width;
}

/** MTH(D[0:size]) of RFC 9162 §2.1.1, from the tree's perfect subtrees. */
export function rootOf(perfect: PerfectSubtree, size: number): Uint8Array {
  if (size === 0) return EMPTY_ROOT.slice();
  return subtree(perfect, 0, size).slice();
}

/** PATH(index, D[0:size]) of RFC 9162 §2.1.3.1: sibling hashes from the leaf up to the root. */
export function inclusionPath(perfect: PerfectSubtree, index: number, size: number): Uint8Array[] {
  const path: Uint8Array[] = [];
  let start = 0;
  let end = size;
  // Walk down from the root, collecting siblings (root-side first), then reverse.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      path.push(subtree(perfect, start + k, end));
      end = start + k;
    } else {
      path.push(subtree(perfect, start, start + k));
      start += k;
    }
  }
  return path.reverse().map((h) => h.slice());
}

/**
 * PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1, for 0 ≤ m ≤ n. Empty when m is 0 or m = n (nothing to
 * prove).
 */
export function consistencyPath(perfect: PerfectSubtree, m: number, n: number): Uint8Array[] {
  if (m === 0 || m === n) return [];
  const proof: Uint8Array[] = [];
  // SUBPROOF(m, D[start:end], b), unrolled; m is relative to start.
  let start = 0;
  let end = n;
  let rel = m;
  let complete = true; // b: the subtree is known to the verifier as the old root
  for (;;) {
    const size = end - start;
    if (rel === size) {
      if (!complete) proof.push(subtree(perfect, start, end));
      break;
    }
    const k = splitPoint(size);
    if (rel <= k) {
      proof.push(subtree(perfect, start + k, end));
      end = start + k;
    } else {
      proof.push(subtree(perfect, start, start + k));
      start += k;
      rel -= k;
      complete = false;
    }
  }
  return proof.reverse().map((h) => h.slice());
}

const CHUNK_HASHES = 4096;

/**
 * An append-only array of 32-byte hashes in fixed chunks (128 KiB by default): no per-hash
 * objects and no re-copying as it grows. `get` returns a view into the chunk.
 */
class HashArray {
  private readonly chunks: Uint8Array[] = [];
  length = 0;

  constructor(private readonly chunkHashes: number) {}

  push(hash: Uint8Array): void {
    const slot = this.length % this.chunkHashes;
    if (slot === 0) this.chunks.push(new Uint8Array(this.chunkHashes * HASH_SIZE));
    this.chunks[this.chunks.length - 1]!.set(hash, slot * HASH_SIZE);
    this.length++;
  }

  get(i: number): Uint8Array {
    const chunk = this.chunks[Math.floor(i / this.chunkHashes)]!;
    const at = (i % this.chunkHashes) * HASH_SIZE;
    return chunk.subarray(at, at + HASH_SIZE);
  }
}

/**
 * An append-only RFC 9162 Merkle tree over leaf hashes, answering for any size ≤ {@link size}.
 *
 * It keeps, per level h, the hashes of every complete, aligned subtree of 2^h leaves
 * (`levels[h][i]` covers leaves [i·2^h, (i+1)·2^h)). Every subtree the RFC's recursion visits
 * is such a perfect subtree except along one right edge, so a root, an inclusion proof or a
 * consistency proof costs O(log n) hashes for any size. Memory is about 2·n·32 bytes
 * (≈ 64 MB for a million leaves): the offline verifier's tree. The server keeps only the
 * upper levels in memory (log-tree.ts).
 *
 * @example
 * const tree = new MerkleTree();
 * for (const entry of entries) tree.append(leafHash(entry));
 * const proof = tree.inclusionProof(3, tree.size);
 * verifyInclusion(leafHash(entries[3]), 3, tree.size, proof, tree.root()); // true
 */
export class MerkleTree {
  private readonly levels: HashArray[];
  readonly #perfect: PerfectSubtree = (start, width) => this.subtreeHash(start, width);

  /**
   * `capacity`: the leaves it is expected to hold, to size its storage (level h is allocated
   * in chunks of min(capacity, 4096) / 2^h hashes); it may grow past it.
   */
  constructor(private readonly capacity = CHUNK_HASHES) {
    this.levels = [this.newLevel(0)];
  }

  /** Builds a tree from leaf hashes (each SHA-256(0x00 ‖ entry), see {@link leafHash}). */
  static fromLeafHashes(hashes: Iterable<Uint8Array>, capacity?: number): MerkleTree {
    const tree = new MerkleTree(capacity);
    for (const h of hashes) tree.append(h);
    return tree;
  }

  /** Number of leaves. */
  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends one leaf hash; returns its index. */
  append(leaf: Uint8Array): number {
    if (leaf.length !== HASH_SIZE)
      throw new RangeError(`leaf hash must be ${HASH_SIZE} bytes, got ${leaf.length}`);
    const index = this.size;
    this.levels[0]!.push(leaf);
    // Complete every perfect subtree this leaf closes: while the node is a right child, hash it
    // with its left sibling into the level above.
    let i = index;
    let h = 0;
    while (i % 2 === 1) {
      const level = this.levels[h]!;
      const parent = nodeHash(level.get(i - 1), level.get(i));
      if (this.levels.length === h + 1) this.levels.push(this.newLevel(h + 1));
      this.levels[h + 1]!.push(parent);
      i = (i - 1) / 2;
      h++;
    }
    return index;
  }

  /** The leaf hash at `index`. */
  leaf(index: number): Uint8Array {
    this.checkIndex(index, this.size);
    return this.levels[0]!.get(index).slice();
  }

  /** MTH of the first `size` leaves (default: all). */
  root(size: number = this.size): Uint8Array {
    this.checkSize(size);
    return rootOf(this.#perfect, size);
  }

  /**
   * PATH(index, D[0:size]) of RFC 9162 §2.1.3.1: sibling hashes from the leaf up to the root.
   */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    this.checkSize(size);
    this.checkIndex(index, size);
    return inclusionPath(this.#perfect, index, size);
  }

  /**
   * PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1, for 0 ≤ m ≤ n ≤ size. Empty when m is 0 or m = n
   * (nothing to prove).
   */
  consistencyProof(m: number, n: number = this.size): Uint8Array[] {
    this.checkSize(n);
    if (!isSize(m) || m > n) throw new RangeError(`consistency proof needs 0 <= m <= n, got m=${m} n=${n}`);
    return consistencyPath(this.#perfect, m, n);
  }

  /**
   * The hash of the complete, aligned subtree of `width` leaves at `start` (a view: copy it to
   * keep it). `width` must be a power of two, `start` a multiple of it, the subtree complete.
   */
  subtreeHash(start: number, width: number): Uint8Array {
    let h = 0;
    while (2 ** h < width) h++;
    const level = this.levels[h];
    const i = start / width;
    if (2 ** h !== width || !Number.isInteger(i) || !level || i >= level.length)
      throw new RangeError(
        `no complete subtree of ${width} leaves at ${start} (tree has ${this.size} leaves)`,
      );
    return level.get(i);
  }

  private newLevel(h: number): HashArray {
    return new HashArray(Math.max(1, Math.floor(Math.min(this.capacity, CHUNK_HASHES) / 2 ** h)));
  }

  private checkSize(size: number): void {
    if (!isSize(size) || size > this.size) {
      throw new RangeError(`tree size ${size} out of range (tree has ${this.size} leaves)`);
    }
  }

  private checkIndex(index: number, size: number): void {
    if (!isSize(index) || index >= size)
      throw new RangeError(`leaf index ${index} out of range for size ${size}`);
  }
}

/**
 * RFC 9162 §2.1.3.2: does `proof` show that `leaf` (a leaf hash) is at `index` in the tree of
 * `size` leaves whose root is `root`?
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isSize(index) || !isSize(size)) return false;
  if (leaf.length !== HASH_SIZE || root.length !== HASH_SIZE) return false;
  // 1. Compare leaf_index against tree_size. If leaf_index >= tree_size, fail.
  if (index >= size) return false;
  // 2. Set fn = leaf_index and sn = tree_size − 1. 3. Set r = hash.
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  // 4. For each value p in the inclusion_path array:
  for (const p of proof) {
    if (p.length !== HASH_SIZE) return false;
    // a. If sn is 0, stop the iteration and fail the proof verification.
    if (sn === 0) return false;
    // b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (fn % 2 === 1 || fn === sn) {
      // i. Set r to HASH(0x01 || p || r).
      r = nodeHash(p, r);
      // ii. If LSB(fn) is not set, then right-shift both fn and sn equally until either LSB(fn)
      //     is set or fn is 0.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      // Otherwise: i. Set r to HASH(0x01 || r || p).
      r = nodeHash(r, p);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // 5. Compare sn to 0. Compare r against the root_hash.
  return sn === 0 && equalBytes(r, root);
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show that the tree of `m` leaves with root `rootM` is a
 * prefix of the tree of `n` leaves with root `rootN`?
 *
 * The RFC defines proofs for 0 < m < n. For the trivial cases this accepts exactly what
 * {@link MerkleTree.consistencyProof} produces: an empty proof, with equal roots when m = n and
 * the empty-tree root when m = 0.
 */
export function verifyConsistency(
  m: number,
  n: number,
  rootM: Uint8Array,
  rootN: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isSize(m) || !isSize(n) || m > n) return false;
  if (rootM.length !== HASH_SIZE || rootN.length !== HASH_SIZE) return false;
  if (proof.some((c) => c.length !== HASH_SIZE)) return false;
  if (m === 0) return proof.length === 0 && equalBytes(rootM, EMPTY_ROOT);
  if (m === n) return proof.length === 0 && equalBytes(rootM, rootN);
  // 1. If consistency_path is an empty array, stop and fail the proof verification.
  if (proof.length === 0) return false;
  // 2. If first is an exact power of 2, then prepend first_hash to the consistency_path array.
  const path = isPowerOfTwo(m) ? [rootM, ...proof] : [...proof];
  // 3. Set fn to first − 1 and sn to second − 1.
  let fn = m - 1;
  let sn = n - 1;
  // 4. If LSB(fn) is set, then right-shift both fn and sn equally until LSB(fn) is not set.
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // 5. Set both fr and sr to the first value in the consistency_path array.
  let fr = path[0]!;
  let sr = path[0]!;
  // 6. For each subsequent value c in the consistency_path array:
  for (const c of path.slice(1)) {
    // a. If sn is 0, then stop the iteration and fail the proof verification.
    if (sn === 0) return false;
    // b. If LSB(fn) is set, or if fn is equal to sn, then:
    if (fn % 2 === 1 || fn === sn) {
      // i. Set fr to HASH(0x01 || c || fr). ii. Set sr to HASH(0x01 || c || sr).
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      // iii. If LSB(fn) is not set, then right-shift both fn and sn equally until either
      //      LSB(fn) is set or fn is 0.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      // Otherwise: i. Set sr to HASH(0x01 || sr || c).
      sr = nodeHash(sr, c);
    }
    // c. Finally, right-shift both fn and sn one time.
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // 7. Verify that fr equals first_hash, sr equals second_hash, and sn is 0.
  return sn === 0 && equalBytes(fr, rootM) && equalBytes(sr, rootN);
}

function isPowerOfTwo(n: number): boolean {
  let p = 1;
  while (p < n) p *= 2;
  return p === n;
}
