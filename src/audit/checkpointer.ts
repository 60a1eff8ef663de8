import { type Kysely, sql } from "kysely";
import type { Database, DatabaseKind } from "../db/index.js";
import { toBase64 } from "../encoding/index.js";
import type { AuditLog } from "./audit-log.js";
import { latestCheckpoint, type StoredCheckpoint } from "./audit-store.js";
import { signCheckpoint } from "./checkpoint.js";
import type { LogIntegrityError } from "./errors.js";
import type { SigningKey } from "./keys.js";
import {
  CheckpointFileError,
  type LatestCheckpointFile,
  type SignedCheckpoint,
} from "./latest-checkpoint-file.js";
import { type CommittedLeaf, LogFollower } from "./log-follower.js";
import { checkpointerLockKey } from "./log-shards.js";
import { TILE_WIDTH } from "./log-tree.js";
import { equalBytes } from "./merkle.js";
import { storeTileHashes } from "./tile-store.js";

/** Postgres advisory lock key serialising checkpoint writers across replicas ("sovs"), shard 0's. */
export const CHECKPOINTER_LOCK_KEY = checkpointerLockKey(0);

export interface CheckpointerOptions {
  /** Log identity: first line of every checkpoint and the note key name. */
  origin: string;
  /** Sign a checkpoint once this many records were appended since the last one. */
  every: number;
  /** …or this often, when the tree grew. */
  intervalMs: number;
  /**
   * The largest checkpoint this keys directory's holder signed, kept outside the database:
   * checked against the log at start and before every signing, advanced by every signing.
   */
  latestFile?: LatestCheckpointFile;
  logger?: {
    info(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  /** Called (synchronously; keep it quick) with each checkpoint this process signed and stored. */
  onSigned?: (cp: StoredCheckpoint) => void;
  /**
   * The log shard this checkpointer keeps (default 0; log-shards.ts): its rows, its checkpoints,
   * its lock. `audit` is then that shard's log (`AuditLog.shard(k)`), `origin` the shard's.
   */
  shard?: number;
  /**
   * How long a gap before this process's leaves may wait to be filled by leaves a sibling
   * worker reports ({@link Checkpointer.siblingCommitted}) before the rows are read from the
   * database and verified (default 0: read at once, as from a replica elsewhere).
   */
  gapWaitMs?: number;
}

/**
 * Signs C2SP checkpoints (DESIGN §8) of one log shard into `audit_checkpoints`, every `every`
 * records or `intervalMs`, and on stop, over the Merkle tree a {@link LogFollower} keeps in step
 * with `audit_log` (./log-follower.ts: the stored tiles and leaves at start, this process's
 * committed leaves, other replicas' rows read and verified — the checkpointer never signs over
 * a leaf it could not check).
 *
 * - Writing: under a transaction-level advisory lock of its own (Postgres), so replicas write
 *   checkpoints one at a time and never a smaller one after a larger; the root of the latest
 *   stored checkpoint must match this tree. On PGlite there is one process. The hashes of the
 *   complete tiles a checkpoint covers are stored with it (tile-store.ts).
 * - Forks: the log must contain the checkpoint in `latestFile` (outside the database) — at
 *   least its size, with its root — at start and before every signing, and a row this process
 *   commits must never take a sequence number the tree already holds with another entry. A
 *   cut or rewritten tail otherwise lets the server re-issue sequence numbers and sign a
 *   checkpoint inconsistent with one it signed before.
 *
 * Any failure is a fault: the checkpointer signs nothing more ({@link fault}), and the server
 * routes nothing more (src/routing/audit-recorder.ts refuses decision records while it is set).
 */
export class Checkpointer {
  readonly #log: LogFollower;
  /** Tiles 0 to this − 1 are stored in `audit_tiles` (this process stored or read them). */
  #tilesStored = 0;
  #latest: StoredCheckpoint | undefined;
  #timer: NodeJS.Timeout | undefined;
  #scheduled = false;
  #stopped = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dbKind: DatabaseKind,
    private readonly audit: AuditLog,
    private signer: SigningKey,
    private readonly opts: CheckpointerOptions,
  ) {
    this.#log = new LogFollower(db, {
      shard: opts.shard ?? 0,
      gapWaitMs: opts.gapWaitMs ?? 0,
      logger: opts.logger,
      onGrown: () => this.#checkpointIfDue(),
    });
  }

  /** Subscribes to the log, loads the tree and starts the timer. */
  async start(): Promise<void> {
    this.audit.onCommitted((entries) => this.#log.committed(entries));
    await this.#log.serial(() => this.#load());
    this.#timer = setInterval(() => {
      if (this.#stopped) return;
      void this.checkpoint().catch((err: unknown) => this.opts.logger?.error({ err }, "checkpoint failed"));
    }, this.opts.intervalMs);
    this.#timer.unref();
  }

  setSigner(key: SigningKey): void {
    this.signer = key;
  }

  get origin(): string {
    return this.opts.origin;
  }

  /** The log shard this checkpointer keeps. */
  get shard(): number {
    return this.#shard;
  }

  get #shard(): number {
    return this.opts.shard ?? 0;
  }

  /** Leaves in the in-memory tree. */
  get size(): number {
    return this.#log.size;
  }

  /** Why the checkpointer stopped signing, if it did. */
  get fault(): LogIntegrityError | undefined {
    return this.#log.fault;
  }

  /**
   * Signs and stores a checkpoint of everything committed so far (reading other replicas'
   * rows first), unless the latest stored checkpoint already covers it; returns the latest.
   */
  checkpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#log.serial(async () => {
      await this.#log.catchUp();
      return this.#write();
    });
  }

  /** The latest stored checkpoint (possibly written by another replica). */
  async latest(): Promise<StoredCheckpoint | undefined> {
    return this.#log.serial(async () => {
      this.#latest = await latestCheckpoint(this.db, this.#shard);
      return this.#latest;
    });
  }

  /** RFC 9162 inclusion proof of leaf `seq` in the tree of `size` leaves. */
  async inclusionProof(seq: number, size: number): Promise<Uint8Array[]> {
    await this.#log.ensure(size);
    return this.#log.inclusionProof(seq, size);
  }

  /** RFC 9162 consistency proof between tree sizes `m <= n`. */
  async consistencyProof(m: number, n: number): Promise<Uint8Array[]> {
    await this.#log.ensure(n);
    return this.#log.consistencyProof(m, n);
  }

  /**
   * Stops the timer and flushes a final checkpoint of everything committed. A failure rejects:
   * the shutdown names it and exits non-zero (records past the last checkpoint stay unsigned).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#log.stop();
    await this.audit.drain();
    await this.checkpoint();
  }

  /**
   * Leaves another worker of this same server committed (relayed over IPC, src/app/cluster):
   * taken as this process's own are — appended in order, and a stored row read back must be
   * the very leaf — without verifying that worker's signatures again: it is this server, signing
   * with the same key. Rows of a replica elsewhere are still read and verified one by one.
   */
  siblingCommitted(entries: readonly CommittedLeaf[]): void {
    this.#log.committed(entries);
  }

  /**
   * Signs a checkpoint once `every` records are uncovered. Commits during a signing do not start
   * another; the count is taken again when it ends, so a burst's tail is signed by count, not
   * left for the interval.
   */
  #checkpointIfDue(): void {
    const since = this.#log.size - (this.#latest?.size ?? 0);
    if (since < this.opts.every || this.#scheduled || this.#stopped || this.#log.fault) return;
    this.#scheduled = true;
    void this.checkpoint().then(
      () => {
        this.#scheduled = false;
        this.#checkpointIfDue();
      },
      (err: unknown) => {
        this.#scheduled = false;
        this.opts.logger?.error({ err }, "checkpoint failed");
      },
    );
  }

  async #load(): Promise<void> {
    this.#latest = await latestCheckpoint(this.db, this.#shard);
    this.#tilesStored = await this.#log.load(this.#latest);
    const held = await this.#checkFile(true);
    this.opts.logger?.info(
      { size: this.#log.size, checkpoint: this.#latest?.size ?? 0, signed: held?.checkpoint.size },
      "audit checkpointer loaded the log",
    );
  }

  async #write(): Promise<StoredCheckpoint | undefined> {
    if (this.#log.fault) throw this.#log.fault;
    const size = this.#log.size;
    if (size === 0 || (this.#latest && this.#latest.size >= size)) return this.#latest;
    await this.#checkFile(true);
    const root = await this.#log.root(size);
    const note = signCheckpoint({ origin: this.opts.origin, size, rootHash: root }, this.signer);
    // Postgres: replicas may sign too, so the check, the file and the row go under the
    // checkpointer's lock in one transaction (one pooled connection; appends use others).
    // PGlite: one process, and this checkpointer is the only writer of its shard's checkpoints
    // (LogFollower.serial runs one operation at a time), so no lock is needed — and a transaction would
    // hold the database's one connection through the file's two fsyncs, stalling every append
    // (every request) behind them once a second under load.
    const stored =
      this.dbKind === "postgres"
        ? await this.db.transaction().execute(async (trx) => {
            await sql`select pg_advisory_xact_lock(${checkpointerLockKey(this.#shard)})`.execute(trx);
            return this.#store(trx, size, root, note);
          })
        : await this.#store(this.db, size, root, note);
    this.#latest = stored;
    if (stored.signedNote === note) this.opts.onSigned?.(stored);
    return stored;
  }

  /**
   * Stores the checkpoint of `size` (signed as `note`) unless a stored one already covers it,
   * and advances the latest-checkpoint file first: a crash in between leaves the file ahead of
   * the stored checkpoints, never of the log (the tree holds committed rows only), so the next
   * start still passes. On Postgres `db` is the transaction holding the checkpointer's lock, so
   * replicas sharing the keys directory replace the file one at a time, each after re-reading
   * it, and only ever with a larger checkpoint.
   */
  async #store(
    db: Kysely<Database>,
    size: number,
    root: Uint8Array,
    note: string,
  ): Promise<StoredCheckpoint> {
    const latest = await latestCheckpoint(db, this.#shard);
    if (latest && latest.size <= size && !equalBytes(await this.#log.root(latest.size), latest.rootHash)) {
      this.#log.fail(`the stored checkpoint of size ${latest.size} does not match this log`);
    }
    if (latest && latest.size >= size) return latest;
    await this.#storeTiles(db, size);
    const held = await this.#checkFile(false);
    if (this.opts.latestFile && (!held || held.checkpoint.size < size))
      await this.opts.latestFile.replace(note);
    await db
      .insertInto("audit_checkpoints")
      .values({ shard: this.#shard, size, root_hash: root, signed_note: note })
      .execute();
    return { shard: this.#shard, size, rootHash: root, signedNote: note, createdAt: new Date() };
  }

  /**
   * The log must contain the checkpoint kept in the file: at least its size, with its root.
   * With `catchUp`, rows another replica committed are read first (it may have signed ahead of
   * this tree); without it (under the lock) a file ahead of the tree is left for the next check.
   */
  async #checkFile(catchUp: boolean): Promise<SignedCheckpoint | undefined> {
    const file = this.opts.latestFile;
    if (!file) return undefined;
    let held: SignedCheckpoint | undefined;
    try {
      held = await file.read();
    } catch (err) {
      if (err instanceof CheckpointFileError) this.#log.fail(err.message);
      throw err;
    }
    if (!held) return undefined;
    const { size, rootHash } = held.checkpoint;
    if (this.#log.size < size && catchUp) await this.#log.catchUp();
    if (this.#log.size < size) {
      if (!catchUp) return held;
      this.#log.fail(
        `the log has ${this.#log.size} entries, but the checkpoint this server signed (${file.path}) covers ${size} with root ${toBase64(rootHash)}: the log's tail was cut — a fork; refusing to re-issue sequence numbers ${this.#log.size}..${size - 1}`,
      );
    }
    const root = await this.#log.root(size);
    if (!equalBytes(root, rootHash)) {
      this.#log.fail(
        `the log's root at size ${size} is ${toBase64(root)}, but the checkpoint this server signed (${file.path}) has root ${toBase64(rootHash)}: the log was rewritten — a fork`,
      );
    }
    return held;
  }

  /**
   * Stores the hashes of the complete tiles a checkpoint of `size` covers, before the
   * checkpoint itself: a start takes them for what that checkpoint covers. A tile stored with
   * another hash (another replica's tree disagrees) is a fork.
   */
  async #storeTiles(db: Kysely<Database>, size: number): Promise<void> {
    const from = this.#tilesStored;
    const to = Math.floor(size / TILE_WIDTH);
    if (to <= from) return;
    const hashes: Uint8Array[] = [];
    for (let t = from; t < to; t++) hashes.push(this.#log.tileHash(t));
    const differs = await storeTileHashes(db, this.#shard, from, hashes);
    if (differs !== undefined)
      this.#log.fail(
        `tile ${differs} (leaves ${differs * TILE_WIDTH}..${(differs + 1) * TILE_WIDTH - 1}) is stored with another hash than this log's: a fork`,
      );
    this.#tilesStored = to;
  }
}
