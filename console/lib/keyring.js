// Pinned signing keys (docs/audit.md §2, §6): keys.json as `sovr audit keys --out` or an export
// writes it ({origin, keys: [published key…]}), a bare array of published keys, or the Connect
// JSON of ListSigningKeys ({keys: [{keyId, publicKey…}], checkpointOrigin}). Each key id must be
// the hex of SHA-256(raw public key)[:8], so a pinned file cannot name a key by another's id.
import { fromBase64, sha256, toHex } from "./bytes.js";

/**
 * A key ring from the parsed JSON. `source` says where it came from ("pinned" or "served"),
 * shown beside every verdict. Returns {origin, keys: Map(id → {id, raw, verify}), source}.
 */
export async function loadKeyRing(json, source) {
  const list = Array.isArray(json) ? json : json?.keys;
  if (!Array.isArray(list) || list.length === 0) throw new Error("no keys in the file (expected keys.json)");
  const origin = Array.isArray(json) ? undefined : (json.origin ?? json.checkpointOrigin);
  const keys = new Map();
  for (const k of list) {
    const id = k.key_id ?? k.keyId;
    const b64 = k.public_key ?? k.publicKey;
    const alg = (k.algorithm ?? "ed25519").toLowerCase();
    if (alg !== "ed25519") throw new Error(`key ${id}: algorithm ${alg} is not ed25519`);
    const raw = fromBase64(b64);
    if (raw.length !== 32) throw new Error(`key ${id}: an Ed25519 public key is 32 bytes`);
    const derived = toHex((await sha256(raw)).subarray(0, 8));
    if (derived !== id) throw new Error(`key ${id}: its id is not derived from its public key (${derived})`);
    keys.set(id, { id, raw, verify: await ed25519Verifier(raw) });
  }
  return { origin, keys, source, get: (id) => keys.get(id) };
}

/** A verify(message, signature) → Promise<boolean> for a raw Ed25519 public key (WebCrypto). */
export async function ed25519Verifier(raw) {
  const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
  return async (message, signature) => {
    if (signature.length !== 64) return false;
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  };
}
