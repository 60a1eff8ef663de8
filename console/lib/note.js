// C2SP signed notes and tlog checkpoints (docs/audit.md §4) and tlog-cosignatures (§6.1),
// verified with WebCrypto. A checkpoint's text is "<origin>\n<size>\n<base64 root>\n[ext…]";
// its signature lines are "— <name> base64(key hash ‖ signature)". The log's key hash is
// SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)[:4]; a witness's (type 0x04) SHA-256(name ‖ "\n" ‖ 0x04 ‖
// key)[:4] over "cosignature/v1\ntime <t>\n" ‖ text, its blob key hash ‖ u64 time ‖ signature.
import { concatBytes, fromBase64, sha256, utf8 } from "./bytes.js";
import { ed25519Verifier } from "./keyring.js";

const SIG_PREFIX = "\u2014 ";

/** Splits a signed note into {text, signatures: [{name, keyHash, blob}]}; throws when malformed. */
export function parseSignedNote(note) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Error("malformed note: no blank line before signatures");
  const text = note.slice(0, split + 1);
  const sigText = note.slice(split + 2);
  if (sigText === "" || !sigText.endsWith("\n")) throw new Error("malformed note: no signatures");
  const signatures = sigText
    .slice(0, -1)
    .split("\n")
    .map((line) => parseSignatureLine(line));
  return { text, signatures };
}

/** One "— <name> <base64>" line (without its newline). */
export function parseSignatureLine(line) {
  if (!line.startsWith(SIG_PREFIX)) throw new Error("malformed note: bad signature line");
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(" ");
  if (space <= 0) throw new Error("malformed note: bad key name");
  const blob = fromBase64(rest.slice(space + 1));
  if (blob.length < 5) throw new Error("malformed note: signature too short");
  const keyHash = new DataView(blob.buffer, blob.byteOffset).getUint32(0);
  return { name: rest.slice(0, space), keyHash, blob };
}

/** The checkpoint body: {origin, size, root}. */
export function parseCheckpointText(text) {
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new Error("checkpoint needs origin, size and root hash lines");
  if (!/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error("bad tree size");
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new Error("root hash must be 32 bytes");
  return { origin: lines[0], size: Number(lines[1]), root };
}

async function keyHash(name, type, raw) {
  const h = await sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, type), raw));
  return new DataView(h.buffer).getUint32(0);
}

/**
 * Opens a signed checkpoint with the pinned ring: a signature under the origin by a pinned key
 * must verify (one by a pinned key that fails rejects it), and the origin must be the pinned
 * one when the ring names it. Returns {origin, size, root, text, keyId} or throws saying why.
 */
export async function openCheckpointNote(note, ring) {
  const { text, signatures } = parseSignedNote(note);
  const cp = parseCheckpointText(text);
  if (ring.origin && ring.origin !== cp.origin)
    throw new Error(`checkpoint origin ${cp.origin} is not the pinned origin ${ring.origin}`);
  let keyId;
  for (const sig of signatures) {
    if (sig.name !== cp.origin) continue;
    for (const key of ring.keys.values()) {
      if ((await keyHash(cp.origin, 0x01, key.raw)) !== sig.keyHash) continue;
      if (!(await key.verify(utf8(text), sig.blob.subarray(4))))
        throw new Error(`checkpoint signature by key ${key.id} does not verify`);
      keyId = key.id;
    }
  }
  if (!keyId) throw new Error("checkpoint has no signature by a pinned key");
  return { ...cp, text, keyId };
}

/** Parses a witness verifier key "<name>+<8 hex>+base64(0x04 ‖ key)" into {name, keyHash, verify}. */
export async function parseWitnessKey(vkey) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey.trim());
  if (!m) throw new Error("malformed witness key");
  const enc = fromBase64(m[3]);
  if (enc.length !== 33 || enc[0] !== 0x04) throw new Error("not an Ed25519 cosignature/v1 key (0x04)");
  const raw = enc.subarray(1);
  const hash = await keyHash(m[1], 0x04, raw);
  if (hash !== Number.parseInt(m[2], 16)) throw new Error("witness key hash does not match the key");
  return { name: m[1], keyHash: hash, vkey: vkey.trim(), verify: await ed25519Verifier(raw) };
}

/**
 * Each cosignature line against the pinned witnesses: {name, status: "verified" | "FAILED" |
 * "not pinned", time?}. A line naming a pinned witness that does not verify is FAILED.
 */
export async function checkCosignatures(text, lines, witnesses) {
  const out = [];
  for (const line of lines) {
    let sig;
    try {
      sig = parseSignatureLine(line);
    } catch (e) {
      out.push({ name: "?", status: "FAILED", why: e.message });
      continue;
    }
    const w = witnesses.find((x) => x.name === sig.name && x.keyHash === sig.keyHash);
    if (!w || sig.blob.length !== 4 + 8 + 64) {
      out.push({ name: sig.name, status: w ? "FAILED" : "not pinned" });
      continue;
    }
    const time = new DataView(sig.blob.buffer, sig.blob.byteOffset).getBigUint64(4);
    const msg = concatBytes(utf8(`cosignature/v1\ntime ${time}\n`), utf8(text));
    const ok = await w.verify(msg, sig.blob.subarray(12));
    out.push({ name: sig.name, status: ok ? "verified" : "FAILED", time: Number(time) });
  }
  return out;
}
