import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toBase64 } from "../encoding/index.js";
import { signCheckpoint } from "./checkpoint.js";
import { generateSigningKey, type SigningKey, saveSigningKey } from "./keys.js";
import {
  CheckpointFileError,
  LATEST_CHECKPOINT_FILE,
  LatestCheckpointFile,
} from "./latest-checkpoint-file.js";

const ORIGIN = "sovr.test/audit";

describe("LatestCheckpointFile", () => {
  let dir: string;
  let key: SigningKey;
  let file: LatestCheckpointFile;
  const note = (size: number, fill = size, k = key, origin = ORIGIN) =>
    signCheckpoint({ origin, size, rootHash: new Uint8Array(32).fill(fill) }, k);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-cpfile-"));
    key = generateSigningKey();
    await saveSigningKey(dir, key);
    file = new LatestCheckpointFile(dir, ORIGIN);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("is absent until the first checkpoint, then holds it: mode 0600, replaced by rename, no temp left", async () => {
    expect(await file.read()).toBeUndefined();
    expect(await file.advance(note(4))).toBe(true);
    const first = await stat(file.path);
    expect(first.mode & 0o777).toBe(0o600);
    expect((await file.read())?.checkpoint).toMatchObject({ origin: ORIGIN, size: 4 });
    expect(await file.advance(note(8))).toBe(true);
    const second = await stat(file.path);
    // A new inode: the file was replaced whole (temp + rename), never rewritten in place, so
    // a crash mid-write leaves the old checkpoint or the new one, not a torn file.
    expect(second.ino).not.toBe(first.ino);
    expect(second.mode & 0o777).toBe(0o600);
    expect(await readFile(file.path, "utf8")).toBe(note(8));
    expect((await readdir(dir)).filter((n) => n.includes(LATEST_CHECKPOINT_FILE))).toEqual([
      LATEST_CHECKPOINT_FILE,
    ]);
  });

  it("only ever moves forward: a smaller or equal checkpoint leaves the file as it is", async () => {
    await file.advance(note(8));
    expect(await file.advance(note(4))).toBe(false);
    expect(await file.advance(note(8, 9))).toBe(false);
    expect(await readFile(file.path, "utf8")).toBe(note(8));
    // Concurrent writers in one process: each re-reads before replacing, so the largest stays.
    await Promise.all([9, 12, 10, 11].map((n) => file.advance(note(n))));
    expect((await file.read())?.checkpoint.size).toBe(12);
  });

  it("verifies with a key of an older rotation still in the directory", async () => {
    await file.advance(note(4));
    await saveSigningKey(dir, generateSigningKey());
    expect((await file.read())?.checkpoint.size).toBe(4);
  });

  it("refuses an altered file, one signed by a stranger, another origin's, or garbage — naming the file", async () => {
    await file.advance(note(4));
    const lines = note(4).split("\n");
    const cases: [string, RegExp][] = [
      [
        [lines[0], lines[1], toBase64(new Uint8Array(32).fill(7)), ...lines.slice(3)].join("\n"),
        /altered or forged/,
      ],
      [note(40, 1, generateSigningKey()), /not verified by any key in .*altered or forged/],
      [note(4, 4, key, "other.example/audit"), /origin "other.example\/audit", not of this log/],
      ["hello\n", /not a signed checkpoint/],
    ];
    for (const [content, why] of cases) {
      await writeFile(file.path, content);
      const err = await file.read().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointFileError);
      expect((err as Error).message).toContain(file.path);
      expect((err as Error).message).toMatch(why);
      // Nor can such a note be kept.
      await expect(file.advance(content)).rejects.toBeInstanceOf(CheckpointFileError);
    }
  });
});
