import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "../encoding/index.js";
import { formatCheckpoint } from "./checkpoint.js";
import {
  cosignatureKeyHash,
  cosignatureSigner,
  cosignatureTime,
  cosignatureVerifier,
  cosigners,
  parseCosignerKey,
} from "./cosignature.js";
import { signingKeyFromSeed, verifyEd25519 } from "./keys.js";
import { noteSigner, openNote, parseNote, signNote } from "./note.js";

const key = signingKeyFromSeed(new Uint8Array(32).fill(7));
const text = formatCheckpoint({ origin: "example.com/log", size: 5, rootHash: new Uint8Array(32).fill(1) });

describe("C2SP tlog-cosignature (Ed25519, type 0x04)", () => {
  it("derives the key ID as SHA-256(name ‖ \\n ‖ 0x04 ‖ key)[:4] and writes the vkey with type 0x04", () => {
    const expected = createHash("sha256")
      .update(Buffer.concat([Buffer.from("witness.example/w1\n"), Buffer.of(0x04), key.publicKeyRaw]))
      .digest()
      .readUInt32BE(0);
    expect(cosignatureKeyHash("witness.example/w1", key.publicKeyRaw)).toBe(expected);
    const v = cosignatureVerifier("witness.example/w1", key.publicKeyRaw);
    expect(v.vkey).toBe(
      `witness.example/w1+${expected.toString(16).padStart(8, "0")}+${toBase64(Buffer.concat([Buffer.of(0x04), key.publicKeyRaw]))}`,
    );
    expect(parseCosignerKey(v.vkey).keyHash).toBe(expected);
    // Not the 0x01 key ID: the same key signs notes and cosignatures under different IDs.
    expect(noteSigner("witness.example/w1", key).keyHash).not.toBe(expected);
  });

  it('signs u64 time ‖ Ed25519("cosignature/v1\\ntime <t>\\n" ‖ checkpoint text)', () => {
    const signer = cosignatureSigner("witness.example/w1", key, () => 1_679_315_147_999);
    const note = signNote(text, [signer]);
    const sig = parseNote(note).signatures[0]!;
    const blob = fromBase64(sig.base64);
    expect(blob.length).toBe(4 + 8 + 64);
    expect(Buffer.from(blob.subarray(4, 12)).readBigUInt64BE(0)).toBe(1_679_315_147n);
    expect(cosignatureTime(sig)).toBe(1_679_315_147);
    const message = Buffer.concat([Buffer.from("cosignature/v1\ntime 1679315147\n"), Buffer.from(text)]);
    expect(verifyEd25519(key.publicKeyRaw, message, blob.subarray(12))).toBe(true);
    expect(
      openNote(note, [cosignatureVerifier("witness.example/w1", key.publicKeyRaw)]).verified,
    ).toHaveLength(1);
  });

  it("refuses a cosignature whose timestamp or text was changed, and vkeys of another type", () => {
    const v = cosignatureVerifier("witness.example/w1", key.publicKeyRaw);
    const note = signNote(text, [cosignatureSigner("witness.example/w1", key, () => 1_000_000)]);
    const sig = parseNote(note).signatures[0]!;
    const blob = fromBase64(sig.base64);
    blob[11] = (blob[11] ?? 0) ^ 1; // the timestamp's last byte
    const altered = { ...sig, base64: toBase64(blob) };
    expect(cosigners(text, [altered], [v])).toEqual({ names: [], invalid: [v.vkey] });
    expect(cosigners(text.replace("5\n", "6\n"), [sig], [v]).invalid).toEqual([v.vkey]);
    expect(cosigners(text, [sig], [v])).toEqual({ names: [v.vkey], invalid: [] });
    const other = cosignatureVerifier("someone.else/w", signingKeyFromSeed(new Uint8Array(32)).publicKeyRaw);
    expect(cosigners(text, [sig], [other])).toEqual({ names: [], invalid: [] });
    const logVkey = `example.com/log+00000000+${toBase64(Buffer.concat([Buffer.of(0x01), key.publicKeyRaw]))}`;
    expect(() => parseCosignerKey(logVkey)).toThrow(/type 0x04/);
  });
});
