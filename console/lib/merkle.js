// RFC 9162 Merkle tree hashing (docs/audit.md §3): leaf = SHA-256(0x00 ‖ entry), node =
// SHA-256(0x01 ‖ left ‖ right); inclusion proofs verified as §2.1.3.2 says, step by step.
import { concatBytes, equalBytes, sha256 } from "./bytes.js";

export function merkleNode(left, right) {
  return sha256(concatBytes(Uint8Array.of(1), left, right));
}

/**
 * RFC 9162 §2.1.3.2: does `proof` (hashes) lead from `leaf` at `index` in a tree of `size`
 * leaves to `root`? Indices are Numbers (safe up to 2^53 entries).
 */
export async function verifyInclusionProof(index, size, leaf, proof, root) {
  if (!(index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await merkleNode(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await merkleNode(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

/**
 * The Merkle tree head of leaves appended one at a time, in O(log n) memory: a stack of the
 * complete subtrees' roots (the "compact range"). root() folds it right to left.
 */
export class MerkleAccumulator {
  constructor() {
    this.size = 0;
    this.stack = [];
  }
  async push(leaf) {
    let h = leaf;
    let n = this.size;
    while (n % 2 === 1) {
      h = await merkleNode(this.stack.pop(), h);
      n = Math.floor(n / 2);
    }
    this.stack.push(h);
    this.size++;
  }
  async root() {
    if (this.size === 0) return sha256(new Uint8Array(0));
    let h = this.stack[this.stack.length - 1];
    for (let i = this.stack.length - 2; i >= 0; i--) h = await merkleNode(this.stack[i], h);
    return h;
  }
}

const isPowerOfTwo = (n) => n > 0 && 2 ** Math.floor(Math.log2(n)) === n;

/**
 * RFC 9162 §2.1.4.2: does `proof` show the tree of `m` leaves (root `rootM`) is a prefix of the
 * tree of `n` leaves (root `rootN`)? Step by step as the RFC (and src/audit/merkle.ts) says; an
 * empty proof only for m = n with equal roots.
 */
export async function verifyConsistencyProof(m, n, rootM, rootN, proof) {
  if (!(m > 0) || m > n) return false;
  if (m === n) return proof.length === 0 && equalBytes(rootM, rootN);
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(m) ? [rootM, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await merkleNode(c, fr);
      sr = await merkleNode(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = await merkleNode(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(fr, rootM) && equalBytes(sr, rootN);
}
