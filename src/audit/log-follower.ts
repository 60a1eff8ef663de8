import type { Kysely } from "kysely";
import { SerialQueue } from "../concurrency/index.js";
import type { Database } from "../db/index.js";
import { leafHashesIn, publishedKeys, readEntries, type StoredCheckpoint } from "./audit-store.js";
import { loadCoveredTree } from "./covered-tree.js";
import { entryLeafHash, RECORD_PAYLOAD_TYPE, verifyEnvelope } from "./dsse.js";
import { LogIntegrityError } from "./errors.js";
import { KeyRing } from "./keys.js";
import { LogTree, StoredLeavesError } from "./log-tree.js";
import { equalBytes } from "./merkle.js";

/** A leaf a writer committed: its sequence number and leaf hash. */
export interface CommittedLeaf {
  seq: number;
  leafHash: Uint8Array;
}

export interface LogFollowerOptions {
  /** The log shard followed (log-shards.ts). */
  shard: number;
  /**
   * How long a gap before this process's leaves may wait to be filled by leaves a sibling
   * worker reports before the rows are read from the database and verified (0: at once).
   */
  gapWaitMs: number;
  logger?: { error(obj: object, msg: string): void };
  /** Called after leaves were taken into the tree (synchronously; keep it quick). */
  onGrown?: () => void;
}

/**
 * Keeps an RFC 9162 Merkle tree in step with one shard of `audit_log` (./checkpointer.ts signs
 * over it):
 *
 * - {@link load}: what the latest stored checkpoint covers, from its stored tiles and leaves
 *   (covered-tree.ts), then the rows after it, verified.
 * - {@link committed}: leaves this process (or a sibling worker of the same server) committed,
 *   appended in order; a gap before them means another replica appended, and the missing rows
 *   are read and verified — signed by a published key, leaf hash = SHA-256(0x00 ‖ envelope
 *   JSON) — before anything after them is taken. A committed row whose sequence number the
 *   tree already holds with another leaf is a fork (the log's tail was cut or rewritten).
 * - The tree keeps its leaves in the database (log-tree.ts); a stored leaf changed after the
 *   tree took it is a fault.
 *
 * Any failure is a fault ({@link fault}): the follower takes nothing more, and its owner signs
 * nothing more. Operations that read the database run one at a time through {@link serial},
 * which the checkpointer's signing shares.
 */
export class LogFollower {
  readonly #tree: LogTree;
  /** Leaves committed by this process that the tree has not reached yet (a gap before them). */
  readonly #pending = new Map<number, Uint8Array>();
  readonly #queue = new SerialQueue();
  #fault: LogIntegrityError | undefined;
  #gapTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly opts: LogFollowerOptions,
  ) {
    // A tile read back with a row missing has fewer than 256 leaves: LogTree refuses it.
    this.#tree = new LogTree((start, end) => leafHashesIn(this.db, start, end, this.opts.shard));
  }

  /** Leaves in the tree. */
  get size(): number {
    return this.#tree.size;
  }

  /** Why the follower stopped, if it did. */
  get fault(): LogIntegrityError | undefined {
    return this.#fault;
  }

  /** Runs `fn` after every operation queued before it (whether that failed or not). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(fn);
  }

  /** Fills the empty tree with what `latest` covers and the rows after it; returns the tiles read. */
  async load(latest: StoredCheckpoint | undefined): Promise<number> {
    const tiles = await loadCoveredTree(this.db, this.opts.shard, this.#tree, latest, (what) =>
      this.fail(what),
    );
    await this.catchUp();
    return tiles;
  }

  /** Stops waiting for siblings' leaves (a gap left is read at the next catch-up). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#gapTimer);
  }

  /** Makes sure the tree has `size` leaves, reading rows when it has fewer. */
  async ensure(size: number): Promise<void> {
    if (this.#tree.size < size) await this.serial(() => this.catchUp());
    if (this.#tree.size < size) throw new RangeError(`the log has ${this.#tree.size} entries, not ${size}`);
  }

  /**
   * Leaves this process — or a sibling worker of this same server (src/app/cluster), signing
   * with the same key — committed: appended in order, and a stored row read back must be the
   * very leaf, without verifying their signatures again. Runs inside the log's commit path:
   * never throws.
   */
  committed(entries: readonly CommittedLeaf[]): void {
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
        void this.serial(async () => {
          if (!this.#fault && !equalBytes(await this.leaf(seq), leafHash)) this.#markFault(reissued(seq));
        }).catch(() => {});
      } else if (!equalBytes(held, e.leafHash)) {
        this.#markFault(reissued(e.seq));
        return;
      }
    }
    this.#drainPending();
    if (this.#pending.size > 0) this.#fillGap();
    this.opts.onGrown?.();
  }

  /** Appends committed rows the tree has not seen (other replicas', or before start), verified. */
  async catchUp(): Promise<void> {
    if (this.#fault) throw this.#fault;
    this.#drainPending();
    let ring: KeyRing | undefined;
    for await (const e of readEntries(this.db, this.#tree.size, undefined, undefined, this.opts.shard)) {
      // The published keys, read before anything below looks at the tree: while this awaits,
      // this process's own commits may be reported (committed), this very row among them
      // when the read overtook its commit's reply, and be appended. From here to the append
      // nothing awaits, so the checks see the tree as it is (checkpointer-race.test.ts).
      if (!ring && e.seq >= this.#tree.size && !this.#pending.has(e.seq))
        ring = new KeyRing(await publishedKeys(this.db));
      // #drainPending() may have appended this process's own rows ahead of the reader: such a
      // row is already in the tree and must be the very row stored.
      if (e.seq < this.#tree.size) {
        if (!equalBytes(this.#tree.recentLeaf(e.seq) ?? (await this.leaf(e.seq)), e.leafHash))
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

  root(size: number): Promise<Uint8Array> {
    return this.#stored(() => this.#tree.root(size));
  }

  leaf(seq: number): Promise<Uint8Array> {
    return this.#stored(() => this.#tree.leaf(seq));
  }

  /** The hash of complete tile `t`. */
  tileHash(t: number): Uint8Array {
    return this.#tree.tileHash(t);
  }

  /** RFC 9162 inclusion proof of leaf `seq` in the tree of `size` leaves. */
  inclusionProof(seq: number, size: number): Promise<Uint8Array[]> {
    return this.#stored(() => this.#tree.inclusionProof(seq, size));
  }

  /** RFC 9162 consistency proof between tree sizes `m <= n`. */
  consistencyProof(m: number, n: number): Promise<Uint8Array[]> {
    return this.#stored(() => this.#tree.consistencyProof(m, n));
  }

  /** Marks the fault and throws it. */
  fail(what: string): never {
    throw this.#markFault(what);
  }

  /** Reads the rows before the pending leaves — after `gapWaitMs`, when a sibling may fill them first. */
  #fillGap(): void {
    const wait = this.opts.gapWaitMs;
    if (wait === 0) {
      void this.serial(() => this.catchUp()).catch(() => {});
      return;
    }
    this.#gapTimer ??= setTimeout(() => {
      this.#gapTimer = undefined;
      this.#drainPending();
      if (this.#pending.size > 0 && !this.#stopped) void this.serial(() => this.catchUp()).catch(() => {});
    }, wait);
    this.#gapTimer.unref();
  }

  #drainPending(): void {
    for (;;) {
      const leaf = this.#pending.get(this.#tree.size);
      if (!leaf) return;
      this.#pending.delete(this.#tree.size);
      this.#tree.append(leaf);
    }
  }

  /** Runs a tree operation that may read leaves back; rows changed under the tree are a fault. */
  async #stored<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof StoredLeavesError) this.fail(err.message);
      throw err;
    }
  }

  #failAt(seq: number, what: string): never {
    return this.fail(`seq ${seq} ${what}`);
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
