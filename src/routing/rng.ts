import { pooledRandomBytes } from "../encoding/index.js";

/** A uniform random source in [0, 1). Injected into selection so tests and replays are exact. */
export type Rng = () => number;

const MASK64 = (1n << 64n) - 1n;

/** A fresh 64-bit seed from the OS CSPRNG; recorded in the decision record. */
export function newSeed(): bigint {
  return pooledRandomBytes(8).readBigUInt64BE();
}

/**
 * Deterministic generator from a 64-bit seed: SplitMix64 expands the seed into the 128-bit
 * state of xoshiro128** (Blackman & Vigna). Same seed → same sequence, on every machine.
 */
export function seededRng(seed: bigint): Rng {
  let x = BigInt.asUintN(64, seed);
  const splitmix = (): number => {
    x = (x + 0x9e3779b97f4a7c15n) & MASK64;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return Number((z ^ (z >> 31n)) & 0xffffffffn);
  };
  const s = new Uint32Array([splitmix(), splitmix(), splitmix(), splitmix()]);
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  const rotl = (v: number, k: number) => (v << k) | (v >>> (32 - k));
  return () => {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result / 0x100000000;
  };
}
