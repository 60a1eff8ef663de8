import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBase64, toBase64 } from "../encoding/index.js";
import { signCheckpoint } from "./checkpoint.js";
import { type DsseEnvelope, entryLeafHash, signEnvelope } from "./dsse.js";
import {
  CHECKPOINTS_FILE,
  type ExportCheckpoint,
  type ExportEntry,
  ExportWriter,
  exportKeys,
  KEYS_FILE,
  RECORDS_FILE,
  writeExport,
} from "./export-format.js";
import { outcomeInput, sampleDecisionInput } from "./fixtures/records.js";
import { generateSigningKey, KeyRing, type SigningKey } from "./keys.js";
import { MerkleTree } from "./merkle.js";
import { buildDecisionRecord, buildOutcomeRecord, encodeRecord } from "./record.js";
import { verifyExport } from "./verifier.js";

const ORIGIN = "sovr.test/audit";
const T0 = 1_763_780_000_000_000;

interface Log {
  entries: ExportEntry[];
  checkpoints: ExportCheckpoint[];
  ring: KeyRing;
  tree: MerkleTree;
  keys: SigningKey[];
}

/**
 * A real log in memory: `pairs` requests, each a decision then an outcome record, signed with
 * k1 for the first half and k2 (after a rotation) for the rest; a checkpoint every
 * `checkpointEvery` entries and one at the end, signed by the key current at the time.
 */
function buildLog(pairs: number, checkpointEvery: number): Log {
  const k1 = generateSigningKey();
  const k2 = generateSigningKey();
  const ring = new KeyRing([
    { keyId: k1.keyId, publicKeyRaw: k1.publicKeyRaw, validFromUs: T0, validUntilUs: null },
  ]);
  const rotateAt = T0 + pairs * 1000;
  ring.rotate(k2, rotateAt);
  const tree = new MerkleTree();
  const entries: ExportEntry[] = [];
  const checkpoints: ExportCheckpoint[] = [];
  const append = (payload: Uint8Array, timeUs: number) => {
    const key = timeUs < rotateAt ? k1 : k2;
    const envelope = signEnvelope(payload, key);
    entries.push({ seq: tree.size, envelope });
    tree.append(entryLeafHash(envelope));
    if (tree.size % checkpointEvery === 0) checkpoint(key);
  };
  const checkpoint = (key: SigningKey) => {
    const size = tree.size;
    checkpoints.push({ size, note: signCheckpoint({ origin: ORIGIN, size, rootHash: tree.root() }, key) });
  };
  for (let i = 0; i < pairs; i++) {
    const time = T0 + i * 2000;
    const d = buildDecisionRecord(sampleDecisionInput({ time_us: time }));
    append(encodeRecord(d), time);
    append(
      encodeRecord(buildOutcomeRecord({ ...outcomeInput(d.decision_id), time_us: time + 500 })),
      time + 500,
    );
  }
  if (checkpoints.at(-1)?.size !== tree.size) checkpoint(k2);
  return { entries, checkpoints, ring, tree, keys: [k1, k2] };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function exportLog(log: Log, edit?: (files: { records: string[]; checkpoints: string[] }) => void) {
  const dir = await mkdtemp(join(tmpdir(), "sovr-export-"));
  dirs.push(dir);
  await writeExport(dir, log.entries, log.checkpoints, exportKeys(ORIGIN, log.ring.list()));
  if (edit) {
    const read = async (f: string) => (await readFile(join(dir, f), "utf8")).split("\n").slice(0, -1);
    const files = { records: await read(RECORDS_FILE), checkpoints: await read(CHECKPOINTS_FILE) };
    edit(files);
    const lines = (ls: string[]) => ls.map((l) => `${l}\n`).join("");
    await writeFile(join(dir, RECORDS_FILE), lines(files.records));
    await writeFile(join(dir, CHECKPOINTS_FILE), lines(files.checkpoints));
  }
  return dir;
}

const parse = (line: string) => JSON.parse(line) as { seq: number; envelope: DsseEnvelope };
const entryLine = (seq: number, envelope: DsseEnvelope) => JSON.stringify({ envelope, seq });

describe("verifyExport", () => {
  // 30 requests → 60 entries, checkpoints at 16, 32, 48 and 60.
  let log: Log;
  beforeAll(() => {
    log = buildLog(30, 16);
  });

  it("verifies an untouched export, across a key rotation", async () => {
    expect(log.checkpoints.map((c) => c.size)).toEqual([16, 32, 48, 60]);
    const signers = new Set(log.entries.map((e) => e.envelope.signatures[0]!.keyid));
    expect(signers.size).toBe(2);
    const progress: number[] = [];
    const result = await verifyExport(await exportLog(log), {
      onProgress: (n) => progress.push(n),
      progressEvery: 25,
    });
    expect(result).toEqual({
      ok: true,
      records: 60,
      checkpoints: 4,
      checkpointedSize: 60,
      rootHash: toBase64(log.tree.root()),
      // v1 records only, no catalogs/ (an export from before it existed): nothing required.
      catalogs: 0,
    });
    expect(progress).toEqual([25, 50, 60]);
    expect(await verifyExport(await exportLog(log), { enforceKeyValidity: true })).toMatchObject({
      ok: true,
    });
  });

  it("writes the documented files", async () => {
    const dir = await exportLog(log);
    const keys = JSON.parse(await readFile(join(dir, KEYS_FILE), "utf8"));
    expect(keys.format).toBe("sovr-audit-export/v1");
    expect(keys.origin).toBe(ORIGIN);
    expect(keys.keys.map((k: { key_id: string }) => k.key_id)).toEqual(log.keys.map((k) => k.keyId));
    const first = (await readFile(join(dir, RECORDS_FILE), "utf8")).split("\n")[0]!;
    expect(first.startsWith('{"envelope":{"payload":"')).toBe(true);
    expect(parse(first).seq).toBe(0);
    const cp = JSON.parse((await readFile(join(dir, CHECKPOINTS_FILE), "utf8")).split("\n")[0]!);
    expect(cp.size).toBe(16);
    expect(cp.note.startsWith(`${ORIGIN}\n16\n`)).toBe(true);
  });

  it("detects one byte changed in a record (payload, signature or seq)", async () => {
    const changePayloadByte = await exportLog(log, (f) => {
      const e = parse(f.records[21]!);
      const payload = fromBase64(e.envelope.payload);
      payload[40]! ^= 0x01;
      f.records[21] = entryLine(21, { ...e.envelope, payload: toBase64(payload) });
    });
    expect((await verifyExport(changePayloadByte)).firstError).toMatchObject({
      seq: 21,
      what: expect.stringMatching(/^signature: bad signature by key/),
    });

    // One raw byte of the file, inside line 7's base64 payload.
    const rawByte = await exportLog(log, (f) => {
      const line = f.records[7]!;
      const at = line.indexOf('"payload":"') + 30;
      f.records[7] = line.slice(0, at) + (line[at] === "A" ? "B" : "A") + line.slice(at + 1);
    });
    expect((await verifyExport(rawByte)).firstError).toMatchObject({
      seq: 7,
      what: expect.stringContaining("signature"),
    });

    const sigByte = await exportLog(log, (f) => {
      const e = parse(f.records[33]!);
      const sig = fromBase64(e.envelope.signatures[0]!.sig);
      sig[5]! ^= 0x20;
      f.records[33] = entryLine(33, {
        ...e.envelope,
        signatures: [{ keyid: e.envelope.signatures[0]!.keyid, sig: toBase64(sig) }],
      });
    });
    expect((await verifyExport(sigByte)).firstError).toMatchObject({
      seq: 33,
      what: expect.stringContaining("bad signature"),
    });

    const seqByte = await exportLog(log, (f) => {
      f.records[12] = f.records[12]!.replace('"seq":12', '"seq":13');
    });
    expect((await verifyExport(seqByte)).firstError).toMatchObject({ seq: 12 });
  });

  it("names the right seq for any single byte changed anywhere in records.jsonl (random positions)", async () => {
    const clean = await exportLog(log);
    const original = await readFile(join(clean, RECORDS_FILE));
    const starts = [0];
    for (let i = 0; i < original.length; i++) if (original[i] === 0x0a) starts.push(i + 1);
    for (let t = 0; t < 25; t++) {
      const seq = Math.floor(Math.random() * 60);
      const at = starts[seq]! + Math.floor(Math.random() * (starts[seq + 1]! - 1 - starts[seq]!));
      const bytes = Buffer.from(original);
      bytes[at]! ^= 1 + Math.floor(Math.random() * 255);
      if (bytes[at] === 0x0a) bytes[at] = 0x20; // keep the line structure: a changed byte, not a new line
      await writeFile(join(clean, RECORDS_FILE), bytes);
      const result = await verifyExport(clean);
      expect(result.ok, `byte ${at} of seq ${seq}`).toBe(false);
      expect(result.firstError?.seq, `byte ${at} of seq ${seq}: ${result.firstError?.what}`).toBe(seq);
    }
  });

  it("detects a deleted record", async () => {
    const dir = await exportLog(log, (f) => {
      f.records.splice(5, 1);
    });
    const result = await verifyExport(dir);
    expect(result).toMatchObject({
      ok: false,
      records: 5,
      firstError: { seq: 5, what: expect.stringContaining("seq 5 is missing") },
    });
  });

  it("detects two swapped records, also when their seq fields are rewritten to match", async () => {
    const swapped = await exportLog(log, (f) => {
      [f.records[3], f.records[4]] = [f.records[4]!, f.records[3]!];
    });
    expect((await verifyExport(swapped)).firstError).toMatchObject({ seq: 3 });

    // Swap two decision records (seq 18 and 20) and renumber: every entry is still validly
    // signed and outcomes still follow their decisions, but the Merkle root at 32 differs.
    const renumbered = await exportLog(log, (f) => {
      const a = parse(f.records[18]!).envelope;
      const b = parse(f.records[20]!).envelope;
      f.records[18] = entryLine(18, b);
      f.records[20] = entryLine(20, a);
    });
    const result = await verifyExport(renumbered);
    // seq 19 (an outcome) now precedes its decision, which moved to 20.
    expect(result.firstError).toMatchObject({
      seq: 19,
      what: expect.stringContaining("no earlier decision"),
    });

    // Swap two whole requests (decision+outcome pairs 16–17 and 18–19): only the checkpoint
    // catches it, and names the first record after the last good checkpoint.
    const pairs = await exportLog(log, (f) => {
      const e = f.records.map((l) => parse(l).envelope);
      [e[16], e[17], e[18], e[19]] = [e[18]!, e[19]!, e[16]!, e[17]!];
      for (let i = 16; i < 20; i++) f.records[i] = entryLine(i, e[i]!);
    });
    const r2 = await verifyExport(pairs);
    expect(r2).toMatchObject({
      ok: false,
      records: 60,
      checkpoints: 1,
      firstError: { seq: 16, checkpoint: 1, what: expect.stringContaining("Merkle root does not match") },
    });
  });

  it("detects the tail cut after a checkpoint", async () => {
    const dir = await exportLog(log, (f) => {
      f.records.splice(40);
    });
    expect(await verifyExport(dir)).toMatchObject({
      ok: false,
      records: 40,
      checkpoints: 2,
      firstError: { seq: 40, checkpoint: 2, what: expect.stringContaining("seq 40..47 are missing") },
    });
  });

  it("detects forged checkpoints: edited, signed by an unknown key, or inconsistent", async () => {
    const edited = await exportLog(log, (f) => {
      const cp = JSON.parse(f.checkpoints[1]!);
      const note = (cp.note as string).replace(
        /^(.*\n.*\n)(.*)\n/,
        (_m, head: string) => `${head}${toBase64(log.tree.root(31))}\n`,
      );
      f.checkpoints[1] = JSON.stringify({ note, size: cp.size });
    });
    expect((await verifyExport(edited)).firstError).toMatchObject({
      checkpoint: 1,
      what: expect.stringContaining("invalid signature"),
    });

    const forger = generateSigningKey();
    const foreign = await exportLog(log, (f) => {
      const note = signCheckpoint({ origin: ORIGIN, size: 60, rootHash: log.tree.root(59) }, forger);
      f.checkpoints.push(JSON.stringify({ note, size: 60 }));
    });
    expect((await verifyExport(foreign)).firstError).toMatchObject({
      checkpoint: 4,
      what: expect.stringContaining("no verifiable signatures"),
    });

    // Signed with the real key (a compromised or misbehaving log) but for a different tree.
    const other = buildLog(10, 100);
    const fork = await exportLog(log, (f) => {
      const note = signCheckpoint({ origin: ORIGIN, size: 20, rootHash: other.tree.root(20) }, log.keys[0]!);
      f.checkpoints.splice(1, 0, JSON.stringify({ note, size: 20 }));
    });
    expect((await verifyExport(fork)).firstError).toMatchObject({
      seq: 16,
      checkpoint: 1,
      what: expect.stringContaining("Merkle root"),
    });

    const shrinking = await exportLog(log, (f) => {
      f.checkpoints.push(f.checkpoints[0]!);
    });
    expect((await verifyExport(shrinking)).firstError).toMatchObject({
      checkpoint: 4,
      what: expect.stringContaining("smaller"),
    });

    const wrongOrigin = await exportLog(log, (f) => {
      const note = signCheckpoint(
        { origin: "evil.test/log", size: 60, rootHash: log.tree.root() },
        log.keys[1]!,
      );
      f.checkpoints.push(JSON.stringify({ note, size: 60 }));
    });
    expect((await verifyExport(wrongOrigin)).firstError).toMatchObject({ checkpoint: 4 });
  });

  it("detects a record signed by an unknown key", async () => {
    const stranger = generateSigningKey();
    const dir = await exportLog(log, (f) => {
      const e = parse(f.records[9]!);
      f.records[9] = entryLine(9, signEnvelope(fromBase64(e.envelope.payload), stranger));
    });
    expect((await verifyExport(dir)).firstError).toEqual({
      seq: 9,
      what: `signature: signed by unknown key ${stranger.keyId}`,
    });
  });

  it("commits to the signatures too: the same record re-signed by another valid key breaks the root", async () => {
    const dir = await exportLog(log, (f) => {
      const e = parse(f.records[35]!);
      const other = log.keys.find((k) => k.keyId !== e.envelope.signatures[0]!.keyid)!;
      f.records[35] = entryLine(35, signEnvelope(fromBase64(e.envelope.payload), other));
    });
    expect((await verifyExport(dir)).firstError).toMatchObject({
      seq: 32,
      checkpoint: 2,
      what: expect.stringContaining("Merkle root does not match records 0..47"),
    });
  });

  it("detects validly signed records that are not canonical, or duplicated", async () => {
    const k = log.keys[0]!;
    const notCanonical = await exportLog(log, (f) => {
      const payload = fromBase64(parse(f.records[2]!).envelope.payload);
      const pretty = new TextEncoder().encode(
        JSON.stringify(JSON.parse(new TextDecoder().decode(payload)), null, 2),
      );
      f.records[2] = entryLine(2, signEnvelope(pretty, k));
    });
    expect((await verifyExport(notCanonical)).firstError).toEqual({
      seq: 2,
      what: "record: not in canonical form (RFC 8785)",
    });

    const duplicate = await exportLog(log, (f) => {
      f.records.push(entryLine(60, parse(f.records[0]!).envelope));
    });
    expect((await verifyExport(duplicate)).firstError).toMatchObject({
      seq: 60,
      what: expect.stringContaining("duplicate decision"),
    });

    const wrongType = await exportLog(log, (f) => {
      const e = parse(f.records[4]!);
      f.records[4] = entryLine(4, signEnvelope(fromBase64(e.envelope.payload), k, "application/json"));
    });
    expect((await verifyExport(wrongType)).firstError).toMatchObject({
      seq: 4,
      what: expect.stringContaining("payloadType"),
    });
  });

  it("detects key material that does not add up, and missing files", async () => {
    const dir = await exportLog(log);
    const keys = JSON.parse(await readFile(join(dir, KEYS_FILE), "utf8"));
    keys.keys[0].key_id = keys.keys[1].key_id;
    await writeFile(join(dir, KEYS_FILE), JSON.stringify(keys));
    expect((await verifyExport(dir)).firstError?.what).toMatch(
      /keys\[0\]: key [0-9a-f]{16}: key id does not match the public key/,
    );

    const dir2 = await exportLog(log);
    await rm(join(dir2, RECORDS_FILE));
    expect((await verifyExport(dir2)).firstError?.what).toMatch(/missing file/);
  });

  it("requires a checkpoint when there are records, and reports the uncheckpointed tail", async () => {
    const none = await exportLog(log, (f) => {
      f.checkpoints.splice(0);
    });
    expect((await verifyExport(none)).firstError).toEqual({
      seq: 0,
      what: "no checkpoint covers the 60 records",
    });
    expect((await verifyExport(none, { requireCheckpoint: false })).ok).toBe(true);

    const tail = await exportLog(log, (f) => {
      f.checkpoints.splice(3);
    });
    expect(await verifyExport(tail)).toMatchObject({ ok: true, records: 60, checkpointedSize: 48 });
  });

  it("verifies an empty log", async () => {
    const empty: Log = { ...log, entries: [], checkpoints: [] };
    expect(await verifyExport(await exportLog(empty))).toMatchObject({
      ok: true,
      records: 0,
      checkpoints: 0,
    });
  });
});

describe("ExportWriter", () => {
  it("refuses entries out of order and checkpoints that do not grow", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sovr-export-"));
    dirs.push(dir);
    const w = await ExportWriter.open(dir, exportKeys(ORIGIN, []));
    const k = generateSigningKey();
    await expect(w.writeRecord({ seq: 1, envelope: signEnvelope(new Uint8Array(), k) })).rejects.toThrow(
      RangeError,
    );
    await w.writeCheckpoint({ size: 0, note: "x" });
    await expect(w.writeCheckpoint({ size: 0, note: "x" })).rejects.toThrow(RangeError);
    expect(await w.close()).toEqual({ records: 0, checkpoints: 1, catalogs: 0 });
  });
});
