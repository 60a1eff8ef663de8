/**
 * The largest checkpoint this key directory's holder signed, kept OUTSIDE the database:
 * `<keys dir>/latest-checkpoint.note`, the C2SP signed note as signed.
 *
 * Why: the log and its checkpoints live in one database. Someone who can edit it can cut the
 * log's tail together with the checkpoints covering it (or rewrite the newest entries), and a
 * server that trusted the database alone would start, re-issue the same sequence numbers and
 * sign a second, inconsistent checkpoint — a fork. The checkpointer compares the log with this
 * file at start and before every signing and refuses when the log is shorter or its root at
 * the file's size differs (src/audit/checkpointer.ts).
 *
 * The file is only believed when a key in the keys directory signed it under the log's origin:
 * an altered or forged file is an error naming the file, never silently obeyed or ignored.
 * It is replaced atomically (temp file, fsync, rename, fsync of the directory; mode 0600) and
 * only ever by a larger checkpoint. Concurrent writers (replicas sharing one keys directory)
 * serialise through the checkpointer's advisory lock, under which the file is re-read before
 * it is replaced.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import {
  type Checkpoint,
  CheckpointError,
  checkpointVerifiers,
  openCheckpoint,
  parseCheckpoint,
} from "./checkpoint.js";
import { loadSigningKeys } from "./keys.js";
import { NoteError, parseNote } from "./note.js";

export const LATEST_CHECKPOINT_FILE = "latest-checkpoint.note";

/** The checkpoint file cannot be read, or is not a checkpoint of this log signed by its keys. */
export class CheckpointFileError extends Error {
  override readonly name = "CheckpointFileError";
}

/** A verified checkpoint and its signed note. */
export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  note: string;
}

export class LatestCheckpointFile {
  readonly path: string;
  /** Serialises {@link advance} within this process (read, compare, replace as one step). */
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * @param keysDir the signing keys' directory (SOVR_KEYS_DIR); the file lives beside them
   * @param origin the log's origin: the file must hold a checkpoint of this log
   * @param fileName the file's name in `keysDir` (a sharded log keeps one per shard:
   *   `latest-checkpoint.shard-<k>.note`, log-shards.ts)
   */
  constructor(
    readonly keysDir: string,
    readonly origin: string,
    fileName: string = LATEST_CHECKPOINT_FILE,
  ) {
    this.path = join(keysDir, fileName);
  }

  /** The checkpoint in the file, verified; undefined when there is no file yet. */
  async read(): Promise<SignedCheckpoint | undefined> {
    let note: string;
    try {
      note = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new CheckpointFileError(`${this.path}: cannot be read: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return { note, checkpoint: await this.verify(note, this.path) };
  }

  /**
   * Opens `note` (named `what` in errors): a checkpoint of this log's origin, signed by a key
   * in the keys directory.
   */
  async verify(note: string, what = "checkpoint"): Promise<Checkpoint> {
    let origin: string;
    try {
      origin = parseCheckpoint(parseNote(note).text).origin;
    } catch (err) {
      if (err instanceof NoteError || err instanceof CheckpointError)
        throw new CheckpointFileError(`${what}: not a signed checkpoint (${err.message})`, { cause: err });
      throw err;
    }
    if (origin !== this.origin) {
      throw new CheckpointFileError(
        `${what}: a checkpoint of origin ${JSON.stringify(origin)}, not of this log (${JSON.stringify(this.origin)})`,
      );
    }
    const keys = await loadSigningKeys(this.keysDir);
    try {
      return openCheckpoint(
        note,
        checkpointVerifiers(
          this.origin,
          keys.map((k) => k.publicKeyRaw),
        ),
        this.origin,
      );
    } catch (err) {
      if (err instanceof CheckpointError) {
        throw new CheckpointFileError(
          `${what}: signature not verified by any key in ${this.keysDir} (${err.message}): the file was altered or forged`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /**
   * Keeps `note` when it is larger than the checkpoint held (re-read first); returns whether
   * the file was replaced. Calls on this object run one at a time; other processes must hold
   * a common lock (see the file comment).
   */
  advance(note: string): Promise<boolean> {
    const run = this.#queue.then(async () => {
      const cp = await this.verify(note);
      const held = await this.read();
      if (held && held.checkpoint.size >= cp.size) return false;
      await this.replace(note);
      return true;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Atomically replaces the file with `note` (no checks; see {@link advance}). */
  async replace(note: string): Promise<void> {
    const tmp = `${this.path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    const fh = await open(tmp, "wx", 0o600);
    try {
      await fh.writeFile(note, "utf8");
      await fh.sync();
    } catch (err) {
      await fh.close();
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fh.close();
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    // The rename itself must survive a crash, or a restart could find the older file.
    const dir = await open(this.keysDir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
