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

interface Reply {
  id: number;
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
 * If the thread dies, every pending and later query fails: the router then refuses to route
 * (no durable record, no request), and /readyz reports the database down.
 */
export class PGliteWorker implements EmbeddedPostgres {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  readonly #sentStatements = new Set<string>();
  #dead: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on("message", (reply: Reply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      p.resolve(reply);
    });
    const fail = (err: Error) => {
      this.#dead ??= err;
      for (const p of this.#pending.values()) p.reject(this.#dead);
      this.#pending.clear();
    };
    worker.on("error", (err) => fail(new Error("embedded database thread failed", { cause: err })));
    worker.on("exit", (code) => fail(new Error(`embedded database thread exited (code ${code})`)));
  }

  /** Starts the thread and opens the database at `location` (a directory, or "memory://"). */
  static async create(location: string): Promise<PGliteWorker> {
    const worker = new Worker(new URL("./pglite-thread.mjs", import.meta.url), { workerData: { location } });
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
    return new PGliteWorker(worker);
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
    if (this.#dead) return;
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
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...message }, transfer);
    });
  }
}

function result<R>(reply: Reply): EmbeddedResult<R> {
  if (reply.error) throw new EmbeddedDatabaseError(reply.error);
  const rows = reply.rows as R[];
  return reply.affectedRows === undefined ? { rows } : { rows, affectedRows: reply.affectedRows };
}
