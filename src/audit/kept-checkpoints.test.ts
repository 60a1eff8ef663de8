import { describe, expect, it } from "vitest";
import { canonicalize, toBase64 } from "../encoding/index.js";
import { signCheckpoint } from "./checkpoint.js";
import { checkKeptCheckpoints, KeptCheckpointsError, parseKeptCheckpoints } from "./kept-checkpoints.js";
import { generateSigningKey, KeyRing } from "./keys.js";
import { leafHash, MerkleTree } from "./merkle.js";

const ORIGIN = "sovr.test/audit";
const key = generateSigningKey();
const ring = new KeyRing([
  { keyId: key.keyId, publicKeyRaw: key.publicKeyRaw, validFromUs: 0, validUntilUs: null },
]);

function tree(entries: string[]): MerkleTree {
  return MerkleTree.fromLeafHashes(entries.map((e) => leafHash(new TextEncoder().encode(e))));
}
const log = ["a", "b", "c", "d", "e", "f"];
const full = tree(log);
const kept = (size: number, t = full, k = key) =>
  signCheckpoint({ origin: ORIGIN, size, rootHash: t.root(size) }, k);

describe("parseKeptCheckpoints", () => {
  it("reads signed notes one after another, with or without blank lines between them", () => {
    const notes = [kept(2), kept(4), kept(6)];
    expect(parseKeptCheckpoints(notes.join(""))).toEqual(notes);
    expect(parseKeptCheckpoints(`\n${notes.join("\n\n")}\n`)).toEqual(notes);
  });

  it("reads an earlier export's checkpoints.jsonl as it is", () => {
    const notes = [kept(2), kept(6)];
    const jsonl = notes.map((note, i) => canonicalize({ note, size: [2, 6][i] })).join("\n");
    expect(parseKeptCheckpoints(`${jsonl}\n`)).toEqual(notes);
  });

  it("names what is wrong with a malformed file", () => {
    expect(() => parseKeptCheckpoints("")).toThrow(KeptCheckpointsError);
    expect(() => parseKeptCheckpoints(`${kept(2)}origin\n2\nroot\n`)).toThrow(
      /line 6: .* without signature lines/,
    );
    expect(() => parseKeptCheckpoints('{"note":1}\n')).toThrow(/line 1: no "note"/);
    expect(() => parseKeptCheckpoints("{oops\n")).toThrow(/line 1: not JSON/);
  });
});

describe("checkKeptCheckpoints", () => {
  it("accepts checkpoints the export's tree contains, up to its size", () => {
    expect(checkKeptCheckpoints([kept(1), kept(4), kept(6)], ORIGIN, ring, full)).toBeUndefined();
  });

  it("a kept checkpoint larger than the export: the log was cut", () => {
    const cut = tree(log.slice(0, 4));
    const r = checkKeptCheckpoints([kept(2), kept(6)], ORIGIN, ring, cut);
    expect(r).toEqual({
      kept: 1,
      what: `kept checkpoint 1 (size 6, root ${toBase64(full.root())}) covers 6 records but the export has 4: the log was cut after this checkpoint was signed — a fork`,
    });
  });

  it("a kept checkpoint whose root the export's tree does not have: the log was rewritten", () => {
    const forked = tree([...log.slice(0, 4), "E", "F", "g"]);
    const r = checkKeptCheckpoints([kept(4), kept(6)], ORIGIN, ring, forked);
    expect(r?.kept).toBe(1);
    expect(r?.what).toContain(`kept checkpoint 1 (size 6, root ${toBase64(full.root())})`);
    expect(r?.what).toContain(`have root ${toBase64(forked.root(6))}: the log was rewritten`);
  });

  it("a kept checkpoint of another log or key is not silently passed", () => {
    const r = checkKeptCheckpoints([kept(4, full, generateSigningKey())], ORIGIN, ring, full);
    expect(r?.kept).toBe(0);
    expect(r?.what).toMatch(/^kept checkpoint 0: .*not a checkpoint of this export's log/);
  });
});
