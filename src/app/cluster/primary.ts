import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import type { Config } from "../../config/index.js";
import type { Logger } from "../../telemetry/index.js";
import { FLUSH_FLOOR_MS } from "../shutdown.js";
import { isOurs, type PrimaryMessage, type Topic, type WorkerMessage } from "./messages.js";

/** How long a worker may take to make a broadcast change (a catalog apply writes a record). */
const NOTICE_TIMEOUT_MS = 30_000;
/** How long a worker may take to send its metrics. */
const SAMPLE_TIMEOUT_MS = 5000;
/** A worker that exits this many times within {@link CRASH_WINDOW_MS} stops the server. */
const CRASH_LIMIT = 5;
const CRASH_WINDOW_MS = 60_000;
/** Past the workers' own drain time, this much more before they are killed. */
const EXIT_MARGIN_MS = 3000;

interface Slot {
  readonly index: number;
  worker?: Worker;
  ready: boolean;
  exits: number[];
}

/**
 * `sovr serve` with SOVR_WORKERS > 1: this process serves nothing itself. It starts the workers
 * (the first alone, so one process creates what a first start creates: schema, keys), each a
 * whole `sovr serve` sharing the ports through node:cluster, restarts one that dies, relays
 * changes made in one worker to all (./worker-link.ts) one at a time in one order, sums their
 * metrics for `/metrics`, and on SIGTERM/SIGINT has them drain and exits when they have.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const primary = new Primary(config, logger);
  await primary.run();
}

class Primary {
  readonly #slots: Slot[];
  #stopping = false;
  #failed = false;
  #broadcasts: Promise<void> = Promise.resolve();
  #nextId = 0;
  readonly #replies = new Map<number, Map<number, (m: WorkerMessage | undefined) => void>>();
  /** The last catalog a caller applied: a restarted worker is given it before it counts as ready. */
  #catalog: unknown;
  #allExited: (() => void) | undefined;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.#slots = Array.from({ length: config.workers }, (_, index) => ({ index, ready: false, exits: [] }));
  }

  async run(): Promise<void> {
    cluster.on("message", (worker, m: unknown) => this.#onMessage(worker, m));
    cluster.on("exit", (worker, code, signal) => this.#onExit(worker, code, signal));
    process.on("SIGTERM", () => this.stop("SIGTERM"));
    process.on("SIGINT", () => this.stop("SIGINT"));
    const exited = new Promise<void>((resolve) => {
      this.#allExited = resolve;
    });
    // The first alone: a first start creates the schema, the signing keys and the dev key once.
    const [first, ...rest] = this.#slots;
    if ((await this.#start(first!)) && !this.#stopping) await Promise.all(rest.map((s) => this.#start(s)));
    if (this.#stopping) {
      // A signal during start-up: whoever started drains and exits (0 when all stop cleanly).
    } else if (this.#slots.every((s) => s.ready)) {
      this.logger.info(
        { workers: this.#slots.length, pids: this.#slots.map((s) => s.worker?.process.pid) },
        "workers serving",
      );
    } else this.stop("SIGTERM", true);
    await exited;
    process.exitCode = this.#failed ? 1 : 0;
  }

  /** Has every worker drain and exit; `failed` makes the exit code 1. */
  stop(signal: NodeJS.Signals, failed = false): void {
    if (failed) this.#failed = true;
    if (this.#stopping) return;
    this.#stopping = true;
    this.logger.info({ signal, workers: this.#live().length }, "stopping workers");
    for (const w of this.#live()) w.process.kill("SIGTERM");
    setTimeout(
      () => {
        const left = this.#live();
        this.logger.error(
          { workers: left.map((w) => w.process.pid) },
          "workers did not stop within the drain time; killed",
        );
        for (const w of left) w.process.kill("SIGKILL");
        this.#failed = true;
      },
      this.config.drainMs + FLUSH_FLOOR_MS + EXIT_MARGIN_MS,
    ).unref();
    this.#checkAllExited();
  }

  #live(): Worker[] {
    return this.#slots.flatMap((s) => (s.worker && !s.worker.isDead() ? [s.worker] : []));
  }

  /** Forks the slot's worker; resolves true once it listens, false when it exited first. */
  #start(slot: Slot): Promise<boolean> {
    const base = process.env.SOVR_INSTANCE;
    const worker = cluster.fork({
      SOVR_WORKER: String(slot.index + 1),
      // The instance names each worker's admin records; the default (host-pid) differs already.
      ...(base ? { SOVR_INSTANCE: `${base}/w${slot.index + 1}` } : {}),
    });
    slot.worker = worker;
    slot.ready = false;
    return new Promise<boolean>((resolve) => {
      const onMessage = (m: unknown) => {
        if (!isOurs<WorkerMessage>(m) || m.sovr !== "ready") return;
        worker.off("message", onMessage);
        // In the broadcasts' order: no change can pass between its catching up and its being ready.
        this.#broadcasts = this.#broadcasts.then(async () => {
          await this.#catchUp(worker);
          worker.off("exit", onExit);
          if (worker.isDead()) return resolve(false);
          slot.ready = true;
          resolve(true);
        });
      };
      const onExit = () => {
        worker.off("message", onMessage);
        resolve(false);
      };
      worker.on("message", onMessage);
      worker.once("exit", onExit);
    });
  }

  /** A restarted worker read the catalog directory; a caller's later catalog is given to it too. */
  async #catchUp(worker: Worker): Promise<void> {
    if (this.#catalog === undefined) return;
    const id = this.#nextId++;
    const [error] = await this.#notice([worker], id, "catalog", this.#catalog);
    if (error)
      this.logger.error(
        { pid: worker.process.pid, error },
        "a restarted worker did not take the applied catalog",
      );
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    for (const waiting of this.#replies.values()) waiting.get(worker.id)?.(undefined);
    const slot = this.#slots.find((s) => s.worker === worker);
    if (!slot) return;
    const wasReady = slot.ready;
    slot.ready = false;
    if (this.#stopping) {
      // A worker the signal reached before it could keep it (still loading) has nothing to drain.
      if (code !== 0 && !(signal === "SIGTERM" && !wasReady)) this.#failed = true;
      this.#checkAllExited();
      return;
    }
    this.logger.error({ worker: slot.index + 1, pid: worker.process.pid, code, signal }, "worker exited");
    if (!wasReady) return; // at start: run() sees it
    const now = Date.now();
    slot.exits = [...slot.exits.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (slot.exits.length >= CRASH_LIMIT) {
      this.logger.error(
        { worker: slot.index + 1, exits: slot.exits.length },
        "worker keeps exiting; stopping",
      );
      this.stop("SIGTERM", true);
      return;
    }
    setTimeout(
      () => {
        if (this.#stopping) return;
        void this.#start(slot).then((ok) => {
          if (ok)
            this.logger.info({ worker: slot.index + 1, pid: slot.worker?.process.pid }, "worker restarted");
        });
      },
      1000 * 2 ** (slot.exits.length - 1),
    ).unref();
  }

  #checkAllExited(): void {
    if (this.#stopping && this.#live().length === 0) this.#allExited?.();
  }

  #onMessage(worker: Worker, m: unknown): void {
    if (!isOurs<WorkerMessage>(m)) return;
    switch (m.sovr) {
      case "broadcast":
        this.#broadcasts = this.#broadcasts.then(() => this.#broadcast(worker, m.id, m.topic, m.payload));
        return;
      case "noticed":
      case "sampled":
        this.#replies.get(m.id)?.get(worker.id)?.(m);
        return;
      case "metrics":
        void this.#metrics().then(
          (text) => this.#send(worker, { sovr: "metrics", id: m.id, text }),
          (err: unknown) => this.#send(worker, { sovr: "metrics", id: m.id, error: String(err) }),
        );
        return;
      case "share":
        for (const s of this.#slots)
          if (s.worker && s.worker !== worker && s.ready)
            this.#send(s.worker, { sovr: "shared", topic: m.topic, payload: m.payload });
        return;
      case "ready":
        return; // awaited by #start
    }
  }

  async #broadcast(from: Worker, yours: number, topic: Topic, payload: unknown): Promise<void> {
    const workers = this.#slots.flatMap((s) =>
      s.worker && (s.ready || s.worker === from) ? [s.worker] : [],
    );
    const errors = await this.#notice(workers, this.#nextId++, topic, payload, from, yours);
    if (topic === "catalog" && errors.length === 0) this.#catalog = payload;
    this.#send(from, { sovr: "broadcasted", id: yours, errors });
  }

  /** Sends the notice to each worker and waits for them all; one error line per worker that failed. */
  async #notice(
    workers: Worker[],
    id: number,
    topic: Topic,
    payload: unknown,
    from?: Worker,
    yours?: number,
  ): Promise<string[]> {
    const replies = await this.#collect(workers, id, NOTICE_TIMEOUT_MS, (w) => ({
      sovr: "notice",
      id,
      topic,
      payload,
      ...(w === from ? { yours } : {}),
    }));
    return replies.flatMap(({ worker, reply }) => {
      const name = `worker ${this.#slotOf(worker)} (pid ${worker.process.pid})`;
      if (reply === undefined) return [`${name} did not answer`];
      return reply.sovr === "noticed" && reply.error !== undefined ? [`${name}: ${reply.error}`] : [];
    });
  }

  /** Every ready worker's metrics, summed as prom-client's cluster aggregation sums them. */
  async #metrics(): Promise<string> {
    const workers = this.#slots.flatMap((s) => (s.worker && s.ready ? [s.worker] : []));
    const id = this.#nextId++;
    const replies = await this.#collect(workers, id, SAMPLE_TIMEOUT_MS, () => ({ sovr: "sample", id }));
    const samples = replies.map(({ worker, reply }) => {
      if (reply?.sovr !== "sampled" || reply.metrics === undefined)
        throw new Error(
          `worker ${this.#slotOf(worker)}: ${reply?.sovr === "sampled" ? reply.error : "no answer"}`,
        );
      return reply.metrics as object[];
    });
    return AggregatorRegistry.aggregate(samples).metrics();
  }

  /** Sends each worker its message and gathers the replies with `id` (undefined: none in time, or it died). */
  #collect(
    workers: Worker[],
    id: number,
    timeoutMs: number,
    message: (w: Worker) => PrimaryMessage,
  ): Promise<{ worker: Worker; reply: WorkerMessage | undefined }[]> {
    const waiting = new Map<number, (m: WorkerMessage | undefined) => void>();
    this.#replies.set(id, waiting);
    const all = workers.map(
      (worker) =>
        new Promise<{ worker: Worker; reply: WorkerMessage | undefined }>((resolve) => {
          const timer = setTimeout(() => done(undefined), timeoutMs);
          const done = (reply: WorkerMessage | undefined) => {
            clearTimeout(timer);
            waiting.delete(worker.id);
            resolve({ worker, reply });
          };
          waiting.set(worker.id, done);
          if (!this.#send(worker, message(worker))) done(undefined);
        }),
    );
    return Promise.all(all).finally(() => this.#replies.delete(id));
  }

  #send(worker: Worker, message: PrimaryMessage): boolean {
    if (!worker.isConnected()) return false;
    try {
      return worker.send(message);
    } catch {
      return false;
    }
  }

  #slotOf(worker: Worker): number {
    return this.#slots.findIndex((s) => s.worker === worker) + 1;
  }
}
