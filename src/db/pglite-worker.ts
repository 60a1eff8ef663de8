import { type HeapInfo, setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";

export interface EmbeddedResult<R> {
  rows: R[];
  affectedRows?: number;
}

/** What the kysely dialect needs from an embedded database. */
export interface EmbeddedPostgres {
  query<R>(sql: string, params?: unknown[]): Promise<EmbeddedResult<R>>;
  /**
   * Runs the statement `text` prepared under `name` (parsed on first use) with `message`: the
   * extended-protocol Bind, Describe, Execute and Sync that bind its parameters. The buffer is
   * handed over (transferred), not copied.
   */
  execPrepared<R>(name: string, text: string, message: Uint8Array): Promise<EmbeddedResult<R>>;
  close(): Promise<void>;
}

/** An error from the embedded database, with the SQLSTATE and detail it carried. */
export class EmbeddedDatabaseError extends Error {
  readonly code: string | undefined;
  readonly detail: string | undefined;
  constructor(fields: { message: string; code?: string; detail?: string }) {
    super(fields.message);
    this.name = "EmbeddedDatabaseError";
    this.code = fields.code;
    this.detail = fields.detail;
  }
}

/** A table the embedded database's thread vacuumed and/or analyzed, with the command's time. */
export interface VacuumDone {
  table: string;
  vacuum: boolean;
  analyze: boolean;
  /** Forced by transaction id age (autovacuum_freeze_max_age). */
  wraparound: boolean;
  ms: number;
}

/** What the embedded database's thread did besides answering queries (pglite-vacuum.mjs). */
export type MaintenanceEvent =
  | { kind: "vacuumed"; done: VacuumDone[] }
  | { kind: "failed"; task: "checkpoint" | "vacuum"; message: string; code?: string };

interface Reply {
  id: number;
  vacuumed?: VacuumDone[];
  maintenanceFailed?: { task: "checkpoint" | "vacuum"; message: string; code?: string };
  /** Sent unasked when the thread finds its database can no longer be trusted (see the thread). */
  fatal?: { message: string; code?: string };
  rows?: unknown[];
  affectedRows?: number;
  error?: { message: string; code?: string; detail?: string };
}

/**
 * PGlite (Postgres compiled to Wasm) on its own thread. On the request thread its query
 * execution and its file system — synchronous reads, writes and syncs of Postgres's pages and
 * WAL — would stall every request in the process for the length of each commit; on a worker
 * they run beside it, on the machine's other core. Queries are answered in the order sent;
 * the dialect above hands the one connection to one holder at a time.
 *
 * If the thread dies, reports its data directory gone or replaced, or stops answering (see
 * {@link PGliteWorker.watch}), every pending and later query fails at once: the router then
 * refuses to route (no durable record, no request), and /readyz reports the database down. A
 * database in that state is not reopened: what it answered last may not be on disk, so a
 * restart (and its start-up checks of the log) decides what comes next.
 */
export class PGliteWorker implements EmbeddedPostgres {
  readonly #worker: Worker;
  /** In the order sent: the first entry is the oldest query still unanswered. */
  readonly #pending = new Map<
    number,
    { resolve: (r: Reply) => void; reject: (e: Error) => void; sentAt: number }
  >();
  #nextId = 1;
  readonly #sentStatements = new Set<string>();
  #dead: Error | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  private constructor(worker: Worker, onMaintenance?: (e: MaintenanceEvent) => void) {
    this.#worker = worker;
    worker.on("message", (reply: Reply) => {
      if (reply.fatal) return this.#fail(new EmbeddedDatabaseError(reply.fatal), true);
      if (reply.vacuumed) return onMaintenance?.({ kind: "vacuumed", done: reply.vacuumed });
      if (reply.maintenanceFailed) return onMaintenance?.({ kind: "failed", ...reply.maintenanceFailed });
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      p.resolve(reply);
    });
    worker.on("error", (err) => this.#fail(new Error("embedded database thread failed", { cause: err })));
    worker.on("exit", (code) => this.#fail(new Error(`embedded database thread exited (code ${code})`)));
  }

  /** Why the database stopped serving, once it has. */
  get failure(): Error | undefined {
    return this.#dead;
  }

  /**
   * From now on, a query left unanswered for `stallMs` means the thread is wedged (the storage
   * under it hangs, or Postgres's state broke and it spins): the thread is stopped and every
   * query fails. Armed after start-up, so that migrations of a large database may take long.
   */
  watch(stallMs: number): void {
    clearInterval(this.#watchdog);
    this.#watchdog = setInterval(
      () => {
        const oldest = this.#pending.values().next().value;
        if (oldest && performance.now() - oldest.sentAt > stallMs)
          this.#fail(
            new Error(`embedded database thread did not answer within ${stallMs} ms; stopped it`),
            true,
          );
      },
      Math.max(10, stallMs / 4),
    );
    this.#watchdog.unref();
  }

  #fail(err: Error, stopThread = false): void {
    this.#dead ??= err;
    clearInterval(this.#watchdog);
    for (const p of this.#pending.values()) p.reject(this.#dead);
    this.#pending.clear();
    // Stopping the thread closes the files it holds (a deleted directory's space is freed).
    if (stopThread) void this.#worker.terminate().catch(() => {});
  }

  /**
   * Starts the thread and opens the database at `location` (a directory, or "memory://"), its
   * Postgres started with `settings` (`-c name=value` pairs, see pglite-memory.ts) and the
   * thread's V8 heap within `opts.limits`. `opts.checkpointEveryMs`: how often the thread checks
   * whether a checkpoint is due (pglite-checkpoints.mjs; tests shorten it), `opts.vacuumEveryMs`
   * whether a vacuum or analyze is (pglite-vacuum.mjs); `opts.onMaintenance` hears what they did.
   */
  static async create(
    location: string,
    settings: string[] = [],
    opts: {
      checkpointEveryMs?: number;
      vacuumEveryMs?: number;
      limits?: { youngGenerationMiB?: number };
      onMaintenance?: (e: MaintenanceEvent) => void;
    } = {},
  ): Promise<PGliteWorker> {
    const limits = opts.limits;
    if (limits?.youngGenerationMiB) leaveYoungGenerationToLimits();
    const worker = new Worker(new URL("./pglite-thread.mjs", import.meta.url), {
      workerData: {
        location,
        settings,
        checkpointEveryMs: opts.checkpointEveryMs,
        vacuumEveryMs: opts.vacuumEveryMs,
      },
      // This thread's V8 heap only (pglite-memory.ts); the request thread keeps Node's defaults.
      ...(limits?.youngGenerationMiB
        ? { resourceLimits: { maxYoungGenerationSizeMb: limits.youngGenerationMiB } }
        : {}),
    });
    let onMessage!: (m: { ready: boolean; error?: Reply["error"] }) => void;
    let onError!: (err: Error) => void;
    let onExit!: (code: number) => void;
    const ready = await new Promise<{ ready: boolean; error?: Reply["error"] }>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`embedded database thread exited (code ${code})`));
      worker.once("message", onMessage).once("error", onError).once("exit", onExit);
    }).finally(() => {
      // Only our own listeners: Worker keeps internal ones that start its message port.
      worker.off("message", onMessage).off("error", onError).off("exit", onExit);
    });
    if (!ready.ready) {
      await worker.terminate();
      throw new EmbeddedDatabaseError(ready.error ?? { message: "embedded database failed to open" });
    }
    return new PGliteWorker(worker, opts.onMaintenance);
  }

  /**
   * Vacuums and analyzes what is due now (pglite-vacuum.mjs), as the thread does every few
   * seconds. At start-up, so that a database that was never vacuumed (written by an older
   * version) is vacuumed before the server serves rather than while requests wait.
   */
  async vacuumNow(): Promise<VacuumDone[]> {
    return result<VacuumDone>(await this.#send({ vacuumNow: true })).rows;
  }

  /** The thread's own V8 heap (`v8.getHeapStatistics()` in the thread). */
  async heapStatistics(): Promise<HeapInfo> {
    return result<HeapInfo>(await this.#send({ heapStatistics: true })).rows[0]!;
  }

  async query<R>(sql: string, params: unknown[] = []): Promise<EmbeddedResult<R>> {
    return result<R>(await this.#send({ sql, params }));
  }

  async execPrepared<R>(name: string, text: string, message: Uint8Array): Promise<EmbeddedResult<R>> {
    // Transfer only a buffer the message owns whole (never a view into Node's shared pool).
    const owned = message.byteOffset === 0 && message.byteLength === message.buffer.byteLength;
    const transfer = owned && message.buffer instanceof ArrayBuffer ? [message.buffer] : [];
    // The statement's text crosses the thread boundary once; the thread keeps it by name.
    const first = !this.#sentStatements.has(name);
    if (first) this.#sentStatements.add(name);
    return result<R>(await this.#send({ prepared: name, sql: first ? text : undefined, message }, transfer));
  }

  async close(): Promise<void> {
    clearInterval(this.#watchdog);
    if (this.#dead) {
      await this.#worker.terminate();
      return;
    }
    try {
      const reply = await this.#send({ close: true });
      if (reply.error) throw new EmbeddedDatabaseError(reply.error);
    } finally {
      await this.#worker.terminate();
    }
  }

  #send(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, sentAt: performance.now() });
      this.#worker.postMessage({ id, ...message }, transfer);
    });
  }
}

function result<R>(reply: Reply): EmbeddedResult<R> {
  if (reply.error) throw new EmbeddedDatabaseError(reply.error);
  const rows = reply.rows as R[];
  return reply.affectedRows === undefined ? { rows } : { rows, affectedRows: reply.affectedRows };
}

/**
 * V8's flags are the process's, not a thread's, and `--max-semi-space-size` (which every shipped
 * start sets for the request thread, docs/operations.md "Memory") overrides a worker's
 * `resourceLimits.maxYoungGenerationSizeMb`: with it the database thread's young generation grew
 * to 16 MiB whatever its limit. A heap takes its sizes when its thread starts, so the request
 * thread's stays as started; cleared, the flag leaves each thread started later to its limits.
 */
function leaveYoungGenerationToLimits(): void {
  setFlagsFromString("--max-semi-space-size=0");
}
