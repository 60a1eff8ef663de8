import { type Kysely, sql } from "kysely";
import type { Database, DatabaseKind } from "../db/index.js";
import { toBase64 } from "../encoding/index.js";
import type { AuditLog } from "./audit-log.js";
import {
  latestCheckpoint,
  leafHashesIn,
  publishedKeys,
  readEntries,
  type StoredCheckpoint,
} from "./audit-store.js";
import { signCheckpoint } from "./checkpoint.js";
import { loadCoveredTree } from "./covered-tree.js";
import { entryLeafHash, RECORD_PAYLOAD_TYPE, verifyEnvelope } from "./dsse.js";
import { LogIntegrityError } from "./errors.js";
import { KeyRing, type SigningKey } from "./keys.js";
import {
  CheckpointFileError,
  type LatestCheckpointFile,
  type SignedCheckpoint,
} from "./latest-checkpoint-file.js";
import { checkpointerLockKey } from "./log-shards.js";
import { LogTree, StoredLeavesError, TILE_WIDTH } from "./log-tree.js";
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
 * Keeps an RFC 9162 Merkle tree in step with `audit_log` and signs C2SP checkpoints of it
 * (DESIGN §8) into `audit_checkpoints`, every `every` records or `intervalMs`, and on stop.
 *
 * - Start: what the latest stored checkpoint covers is taken from the stored hashes of its
 *   complete tiles (`audit_tiles`, written with each checkpoint; tile-store.ts) and the stored
 *   leaf hashes after them (covered-tree.ts), and must reproduce its signed root; rows after it (not yet
 *   vouched for by any signature of the log) are verified first: signed by a published key,
 *   leaf hash = SHA-256(0x00 ‖ envelope JSON). The checkpointer never signs over a leaf it
 *   could not check. The tree keeps the leaves in the database (log-tree.ts): memory holds
 *   64 bytes per 256 records, and a proof reads back at most three tiles of 256 leaf hashes,
 *   each checked against the tree — a stored leaf changed after the tree took it is a fault.
 * - Running: `AuditLog.onCommitted` hands over this process's leaves; a gap before them means
 *   another replica appended, and the missing rows are read (and verified) from the database.
 *   Leaves a sibling worker of the same server committed (`SOVR_WORKERS`) are handed over as
 *   this process's own are ({@link Checkpointer.siblingCommitted}).
 * - Writing: under a transaction-level advisory lock of its own (Postgres), so replicas write
 *   checkpoints one at a time and never a smaller one after a larger; the root of the latest
 *   stored checkpoint must match this tree. On PGlite there is one process.
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
  readonly #tree: LogTree;
  /** Tiles 0 to this − 1 are stored in `audit_tiles` (this process stored or read them). */
  #tilesStored = 0;
  /** Leaves committed by this process that the tree has not reached yet (a gap before them). */
  readonly #pending = new Map<number, Uint8Array>();
  #queue: Promise<unknown> = Promise.resolve();
  #latest: StoredCheckpoint | undefined;
  #fault: LogIntegrityError | undefined;
  #timer: NodeJS.Timeout | undefined;
  #scheduled = false;
  #stopped = false;
  #gapTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dbKind: DatabaseKind,
    private readonly audit: AuditLog,
    private signer: SigningKey,
    private readonly opts: CheckpointerOptions,
  ) {
    // A tile read back with a row missing has fewer than 256 leaves: LogTree refuses it.
    this.#tree = new LogTree((start, end) => leafHashesIn(this.db, start, end, this.#shard));
  }

  /** Subscribes to the log, loads the tree and starts the timer. */
  async start(): Promise<void> {
    this.audit.onCommitted((entries) => this.#onCommitted(entries));
    await this.#serial(() => this.#load());
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
    return this.#tree.size;
  }

  /** Why the checkpointer stopped signing, if it did. */
  get fault(): LogIntegrityError | undefined {
    return this.#fault;
  }

  /**
   * Signs and stores a checkpoint of everything committed so far (reading other replicas'
   * rows first), unless the latest stored checkpoint already covers it; returns the latest.
   */
  checkpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#serial(async () => {
      await this.#catchUp();
      return this.#write();
    });
  }

  /** The latest stored checkpoint (possibly written by another replica). */
  async latest(): Promise<StoredCheckpoint | undefined> {
    return this.#serial(async () => {
      this.#latest = await latestCheckpoint(this.db, this.#shard);
      return this.#latest;
    });
  }

  /** RFC 9162 inclusion proof of leaf `seq` in the tree of `size` leaves. */
  async inclusionProof(seq: number, size: number): Promise<Uint8Array[]> {
    await this.#ensure(size);
    return this.#stored(() => this.#tree.inclusionProof(seq, size));
  }

  /** RFC 9162 consistency proof between tree sizes `m <= n`. */
  async consistencyProof(m: number, n: number): Promise<Uint8Array[]> {
    await this.#ensure(n);
    return this.#stored(() => this.#tree.consistencyProof(m, n));
  }

  /**
   * Stops the timer and flushes a final checkpoint of everything committed. A failure rejects:
   * the shutdown names it and exits non-zero (records past the last checkpoint stay unsigned).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#gapTimer);
    await this.audit.drain();
    await this.checkpoint();
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #ensure(size: number): Promise<void> {
    if (this.#tree.size < size) await this.#serial(() => this.#catchUp());
    if (this.#tree.size < size) throw new RangeError(`the log has ${this.#tree.size} entries, not ${size}`);
  }

  #onCommitted(entries: readonly { seq: number; leafHash: Uint8Array }[]): void {
    if (this.#fault) return;
    for (const e of entries) {
      if (e.seq >= this.#tree.size) {
        this.#pending.set(e.seq, e.leafHash);
        continue;
      }
      // The tree took this row already (a catch-up read it first): it must be this very row.
      // Memory holds the last 256 to 511 leaves, which a row just committed is among; an older
      // one is compared once read back.
      const held = this.#tree.recentLeaf(e.seq);
      if (!held) {
        const { seq, leafHash } = e;
        void this.#serial(async () => {
          if (!this.#fault && !equalBytes(await this.#leaf(seq), leafHash)) this.#markFault(reissued(seq));
        }).catch(() => {});
      } else if (!equalBytes(held, e.leafHash)) {
        // Never throw here: this runs inside the log's commit path.
        this.#markFault(reissued(e.seq));
        return;
      }
    }
    this.#drainPending();
    if (this.#pending.size > 0) this.#fillGap();
    this.#checkpointIfDue();
  }

  /**
   * Leaves another worker of this same server committed (relayed over IPC, src/app/cluster):
   * taken as this process's own are — appended in order, and a stored row read back must be
   * the very leaf — without verifying that worker's signatures again: it is this server, signing
   * with the same key. Rows of a replica elsewhere are still read and verified one by one.
   */
  siblingCommitted(entries: readonly { seq: number; leafHash: Uint8Array }[]): void {
    this.#onCommitted(entries);
  }

  /** Reads the rows before the pending leaves — after `gapWaitMs`, when a sibling may fill them first. */
  #fillGap(): void {
    const wait = this.opts.gapWaitMs ?? 0;
    if (wait === 0) {
      void this.#serial(() => this.#catchUp()).catch(() => {});
      return;
    }
    this.#gapTimer ??= setTimeout(() => {
      this.#gapTimer = undefined;
      this.#drainPending();
      if (this.#pending.size > 0 && !this.#stopped) void this.#serial(() => this.#catchUp()).catch(() => {});
    }, wait);
    this.#gapTimer.unref();
  }

  /**
   * Signs a checkpoint once `every` records are uncovered. Commits during a signing do not start
   * another; the count is taken again when it ends, so a burst's tail is signed by count, not
   * left for the interval.
   */
  #checkpointIfDue(): void {
    const since = this.#tree.size - (this.#latest?.size ?? 0);
    if (since < this.opts.every || this.#scheduled || this.#stopped || this.#fault) return;
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

  #drainPending(): void {
    for (;;) {
      const leaf = this.#pending.get(this.#tree.size);
      if (!leaf) return;
      this.#pending.delete(this.#tree.size);
      this.#tree.append(leaf);
    }
  }

  async #load(): Promise<void> {
    this.#latest = await latestCheckpoint(this.db, this.#shard);
    this.#tilesStored = await loadCoveredTree(this.db, this.#shard, this.#tree, this.#latest, (what) =>
      this.#fail(what),
    );
    await this.#catchUp();
    const held = await this.#checkFile(true);
    this.opts.logger?.info(
      { size: this.#tree.size, checkpoint: this.#latest?.size ?? 0, signed: held?.checkpoint.size },
      "audit checkpointer loaded the log",
    );
  }

  /** Appends committed rows the tree has not seen (other replicas', or before start), verified. */
  async #catchUp(): Promise<void> {
    if (this.#fault) throw this.#fault;
    this.#drainPending();
    let ring: KeyRing | undefined;
    for await (const e of readEntries(this.db, this.#tree.size, undefined, undefined, this.#shard)) {
      // The published keys, read before anything below looks at the tree: while this awaits,
      // this process's own commits may be reported (#onCommitted), this very row among them
      // when the read overtook its commit's reply, and be appended. From here to the append
      // nothing awaits, so the checks see the tree as it is (checkpointer-race.test.ts).
      if (!ring && e.seq >= this.#tree.size && !this.#pending.has(e.seq))
        ring = new KeyRing(await publishedKeys(this.db));
      // #drainPending() may have appended this process's own rows ahead of the reader: such a
      // row is already in the tree and must be the very row stored.
      if (e.seq < this.#tree.size) {
        if (!equalBytes(this.#tree.recentLeaf(e.seq) ?? (await this.#leaf(e.seq)), e.leafHash))
          this.#failAt(e.seq, "differs from the row this process committed");
        continue;
      }
      if (e.seq !== this.#tree.size) this.#failAt(this.#tree.size, "is missing from the database");
      const own = this.#pending.get(e.seq);
      if (own) {
        if (!equalBytes(own, e.leafHash)) this.#failAt(e.seq, "differs from the row this process committed");
        this.#pending.delete(e.seq);
      } else {
        // Not this process's row: the keys were read above, before the checks.
        const v = verifyEnvelope(e.envelope, ring!, RECORD_PAYLOAD_TYPE);
        if (!v.ok) this.#failAt(e.seq, `signature: ${v.reason}`);
        if (!equalBytes(entryLeafHash(e.envelope), e.leafHash))
          this.#failAt(e.seq, "leaf hash does not match its envelope");
      }
      this.#tree.append(e.leafHash);
      this.#drainPending();
    }
  }

  async #write(): Promise<StoredCheckpoint | undefined> {
    if (this.#fault) throw this.#fault;
    const size = this.#tree.size;
    if (size === 0 || (this.#latest && this.#latest.size >= size)) return this.#latest;
    await this.#checkFile(true);
    const root = await this.#root(size);
    const note = signCheckpoint({ origin: this.opts.origin, size, rootHash: root }, this.signer);
    // Postgres: replicas may sign too, so the check, the file and the row go under the
    // checkpointer's lock in one transaction (one pooled connection; appends use others).
    // PGlite: one process, and this checkpointer is the only writer of its shard's checkpoints
    // (#serial runs one operation at a time), so no lock is needed — and a transaction would
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
    if (latest && latest.size <= size && !equalBytes(await this.#root(latest.size), latest.rootHash)) {
      this.#fail(`the stored checkpoint of size ${latest.size} does not match this log`);
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
      if (err instanceof CheckpointFileError) this.#fail(err.message);
      throw err;
    }
    if (!held) return undefined;
    const { size, rootHash } = held.checkpoint;
    if (this.#tree.size < size && catchUp) await this.#catchUp();
    if (this.#tree.size < size) {
      if (!catchUp) return held;
      this.#fail(
        `the log has ${this.#tree.size} entries, but the checkpoint this server signed (${file.path}) covers ${size} with root ${toBase64(rootHash)}: the log's tail was cut — a fork; refusing to re-issue sequence numbers ${this.#tree.size}..${size - 1}`,
      );
    }
    const root = await this.#root(size);
    if (!equalBytes(root, rootHash)) {
      this.#fail(
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
    for (let t = from; t < to; t++) hashes.push(this.#tree.tileHash(t));
    const differs = await storeTileHashes(db, this.#shard, from, hashes);
    if (differs !== undefined)
      this.#fail(
        `tile ${differs} (leaves ${differs * TILE_WIDTH}..${(differs + 1) * TILE_WIDTH - 1}) is stored with another hash than this log's: a fork`,
      );
    this.#tilesStored = to;
  }

  #root(size: number): Promise<Uint8Array> {
    return this.#stored(() => this.#tree.root(size));
  }

  #leaf(seq: number): Promise<Uint8Array> {
    return this.#stored(() => this.#tree.leaf(seq));
  }

  /** Runs a tree operation that may read leaves back; rows changed under the tree are a fault. */
  async #stored<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof StoredLeavesError) this.#fail(err.message);
      throw err;
    }
  }

  #failAt(seq: number, what: string): never {
    return this.#fail(`seq ${seq} ${what}`);
  }

  #fail(what: string): never {
    throw this.#markFault(what);
  }

  #markFault(what: string): LogIntegrityError {
    this.#fault = new LogIntegrityError(
      `audit log integrity: ${what}; no further checkpoints are signed and no requests are routed`,
    );
    this.#pending.clear();
    this.opts.logger?.error({ err: this.#fault }, "audit log integrity check failed");
    return this.#fault;
  }
}

function reissued(seq: number): string {
  return `seq ${seq} was issued again for another entry: the log's tail was cut or rewritten under the running server (a fork)`;
}
