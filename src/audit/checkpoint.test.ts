import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "../encoding/index.js";
import {
  CheckpointError,
  checkpointVerifiers,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from "./checkpoint.js";
import { generateSigningKey, signingKeyFromSeed } from "./keys.js";
import { leafHash, MerkleTree } from "./merkle.js";
import {
  ed25519KeyHash,
  formatVerifierKey,
  NoteError,
  noteSigner,
  noteVerifier,
  openNote,
  parseNote,
  parseVerifierKey,
  signNote,
} from "./note.js";

// Interop vectors from golang.org/x/mod/sumdb/note (note_test.go).
const GO_SKEY = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; // 0x01 ‖ seed, of PRIVATE+KEY+PeterNeumann+c74f20a3+…
const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIGNED = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
const ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const ENOCH_SIG =
  "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

const peterKey = signingKeyFromSeed(fromBase64(GO_SKEY).subarray(1));

describe("signed notes: interop with golang.org/x/mod/sumdb/note", () => {
  it("derives Go's key hash and verifier key string", () => {
    expect(ed25519KeyHash("PeterNeumann", peterKey.publicKeyRaw)).toBe(0xc74f20a3);
    expect(formatVerifierKey("PeterNeumann", peterKey.publicKeyRaw)).toBe(GO_VKEY);
    const v = parseVerifierKey(GO_VKEY);
    expect(v.name).toBe("PeterNeumann");
    expect(v.keyHash).toBe(0xc74f20a3);
  });

  it("produces Go's signed note byte for byte", () => {
    expect(signNote(GO_TEXT, [noteSigner("PeterNeumann", peterKey)])).toBe(GO_SIGNED);
  });

  it("opens Go's note; ignores signatures from unknown keys; verifies both when both are known", () => {
    const msg = `${GO_TEXT}\n${GO_SIGNED.slice(GO_TEXT.length + 1)}${ENOCH_SIG}`;
    const one = openNote(msg, [parseVerifierKey(GO_VKEY)]);
    expect(one.text).toBe(GO_TEXT);
    expect(one.verified.map((s) => s.name)).toEqual(["PeterNeumann"]);
    expect(one.unverified.map((s) => [s.name, s.keyHash])).toEqual([["EnochRoot", 0xaf0cfe78]]);
    const both = openNote(msg, [parseVerifierKey(GO_VKEY), parseVerifierKey(ENOCH_VKEY)]);
    expect(both.verified).toHaveLength(2);
    expect(() => openNote(msg, [])).toThrow("note has no verifiable signatures");
  });

  it("rejects a note whose known signature fails, and malformed notes (Go's bad messages)", () => {
    const peterSig = GO_SIGNED.slice(GO_TEXT.length + 1);
    const v = [parseVerifierKey(GO_VKEY)];
    expect(() => openNote(`${GO_TEXT}\n${peterSig.slice(0, 60)}ABCD${peterSig.slice(60)}`, v)).toThrow(
      "invalid signature for key PeterNeumann+c74f20a3",
    );
    expect(() => openNote(GO_SIGNED.replace("cryptography", "Cryptography"), v)).toThrow(/invalid signature/);
    for (const bad of [
      GO_TEXT,
      `${GO_TEXT}\n`,
      `${GO_TEXT}\n${peterSig.slice(0, -1)}`,
      `\x01${GO_TEXT}\n${peterSig}`,
      `${GO_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${GO_TEXT}\n${peterSig}Unexpected line.\n`,
      `${GO_TEXT}\n${peterSig.repeat(101)}`,
    ]) {
      expect(() => openNote(bad, v), JSON.stringify(bad)).toThrow(NoteError);
    }
  });

  it("rejects mangled verifier keys", () => {
    expect(() =>
      parseVerifierKey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
    ).toThrow(/hash/);
    expect(() =>
      parseVerifierKey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
    ).toThrow();
    expect(() => parseVerifierKey(GO_VKEY.slice(0, -1))).toThrow();
    expect(() => parseVerifierKey(`Peter Neumann${GO_VKEY.slice(12)}`)).toThrow();
  });

  it("treats a verifier whose name or hash differs as unknown, and refuses invalid key names", () => {
    const other = generateSigningKey();
    const msg = signNote("hello\n", [noteSigner("a.example/log", other)]);
    expect(() => openNote(msg, [noteVerifier("b.example/log", other.publicKeyRaw)])).toThrow(/no verifiable/);
    expect(() => openNote(msg, [noteVerifier("a.example/log", peterKey.publicKeyRaw)])).toThrow(
      /no verifiable/,
    );
    expect(openNote(msg, [noteVerifier("a.example/log", other.publicKeyRaw)]).text).toBe("hello\n");
    expect(() => noteSigner("a+b", other)).toThrow(NoteError);
    expect(() => noteSigner("", other)).toThrow(NoteError);
    expect(() => signNote("no newline", [noteSigner("a", other)])).toThrow(NoteError);
    expect(parseNote(msg).signatures[0]?.name).toBe("a.example/log");
  });
});

describe("checkpoints (c2sp.org/tlog-checkpoint)", () => {
  const origin = "sovr.example.com/audit";
  const key = generateSigningKey();
  const tree = MerkleTree.fromLeafHashes(["a", "b", "c"].map((s) => leafHash(new TextEncoder().encode(s))));

  it("formats origin, size and base64 root, each ending in a newline", () => {
    const root = tree.root();
    expect(formatCheckpoint({ origin, size: 3, rootHash: root })).toBe(`${origin}\n3\n${toBase64(root)}\n`);
    expect(formatCheckpoint({ origin, size: 0, rootHash: createHash("sha256").digest() })).toBe(
      `${origin}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n`,
    );
  });

  it("parses the C2SP example checkpoint text", () => {
    const cp = parseCheckpoint(
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    );
    expect(cp.origin).toBe("example.com/behind-the-sofa");
    expect(cp.size).toBe(20852163);
    expect(cp.rootHash).toHaveLength(32);
  });

  it("round-trips through sign and open, with extension lines", () => {
    const cp = { origin, size: 3, rootHash: tree.root(), extensions: ["ext one"] };
    const note = signCheckpoint(cp, key);
    expect(note.startsWith(formatCheckpoint(cp))).toBe(true);
    expect(note).toContain(`\n\n— ${origin} `);
    expect(openCheckpoint(note, checkpointVerifiers(origin, [key.publicKeyRaw]), origin)).toEqual(cp);
  });

  it("rejects forged, re-signed or mislabelled checkpoints", () => {
    const note = signCheckpoint({ origin, size: 3, rootHash: tree.root() }, key);
    const verifiers = checkpointVerifiers(origin, [key.publicKeyRaw]);
    // Size changed after signing.
    expect(() => openCheckpoint(note.replace(`${origin}\n3\n`, `${origin}\n2\n`), verifiers)).toThrow(
      CheckpointError,
    );
    // Signed by another key under the same name.
    const forger = generateSigningKey();
    const forged = signCheckpoint({ origin, size: 3, rootHash: tree.root(2) }, forger);
    expect(() => openCheckpoint(forged, verifiers)).toThrow(/no verifiable/);
    // A different origin.
    const other = signCheckpoint({ origin: "other.example/log", size: 3, rootHash: tree.root() }, key);
    expect(() =>
      openCheckpoint(other, checkpointVerifiers("other.example/log", [key.publicKeyRaw]), origin),
    ).toThrow(/origin/);
  });

  it("rejects malformed checkpoint text", () => {
    const r = toBase64(tree.root());
    for (const bad of [
      `${origin}\n3\n${r}`,
      `${origin}\n03\n${r}\n`,
      `${origin}\n-1\n${r}\n`,
      `${origin}\n3\n`,
      `\n3\n${r}\n`,
      `${origin}\n3\n${r.slice(4)}\n`,
      `${origin}\n3\n${r}\n\n`,
      `${origin}\n99999999999999999999\n${r}\n`,
    ]) {
      expect(() => parseCheckpoint(bad), JSON.stringify(bad)).toThrow(CheckpointError);
    }
  });
});
