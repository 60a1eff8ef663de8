import { open, stat, statfs, unlink } from "node:fs/promises";
import { join } from "node:path";
import { withDeadline } from "./deadline.js";

/**
 * Below this much free space the embedded database cannot start its next WAL segment (16 MiB,
 * Postgres's default segment size, which PGlite keeps): report not ready before commits start
 * failing, not after.
 */
export const MIN_FREE_BYTES = 16 * 1024 * 1024;

/**
 * How often the storage is probed in the background, and how long a result is reused: repeated
 * /readyz calls share one probe (no fsync storm from a prober).
 */
const REUSE_MS = 1000;

const PROBE_FILE = ".sovr-storage-probe";

export interface StorageProbeOptions {
  /** A check with no answer after this long reports the storage as hanging. */
  timeoutMs: number;
  minFreeBytes?: number;
  /** How long a result is reused (default 1000 ms; tests set 0 to probe on every check). */
  reuseMs?: number;
}

/**
 * The readiness check of the embedded database's storage: a `select 1` answers from memory
 * while the directory underneath is gone, read-only or full, so this looks at the directory
 * itself: still the one opened (device and inode), space left for the next WAL segment, and a
 * small file written, fsync-ed and removed. Probed every second in the background: while the
 * latest probe failed, new decision records are refused outright (see {@link refusal}), so a
 * full disk refuses every request rather than accepting some until a page runs out.
 */
export class StorageProbe {
  #last: { at: number; result: Promise<string> } | undefined;
  /** The probe at work, until its file operations end (past its deadline, if it hangs). */
  #running: Promise<void> | undefined;
  /** The latest settled result. */
  #settled = "ok";
  #timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly dir: string,
    private readonly identity: { dev: number; ino: number },
    private readonly opts: StorageProbeOptions,
  ) {}

  /** Remembers which directory `dir` is now, to tell later if it was deleted or replaced. */
  static async open(dir: string, opts: StorageProbeOptions): Promise<StorageProbe> {
    const s = await stat(dir);
    return new StorageProbe(dir, { dev: s.dev, ino: s.ino }, opts);
  }

  /** "ok", or why the storage cannot take a durable write now. */
  check(): Promise<string> {
    const now = performance.now();
    if (this.#last && now - this.#last.at < (this.opts.reuseMs ?? REUSE_MS)) return this.#last.result;
    // One probe at a time: probes share one file, and one slower than the interval (an fsync of
    // over a second on a busy disk) must not have the next one remove its file under it — that
    // read as a failed durable write and refused every record. Until it ends, its answer (or its
    // deadline's) stands.
    if (this.#running && this.#last) return this.#last.result;
    const probe = this.#probe();
    this.#running = probe;
    void probe.then(
      () => this.#ended(probe),
      () => this.#ended(probe),
    );
    const result = withDeadline(probe, this.opts.timeoutMs, `data directory ${this.dir}`).then(
      () => "ok",
      (err: unknown) => (err as Error).message,
    );
    this.#last = { at: now, result };
    void result.then((r) => {
      if (this.#last?.result === result) this.#settled = r;
    });
    return result;
  }

  #ended(probe: Promise<void>): void {
    if (this.#running === probe) this.#running = undefined;
  }

  /** Why new writes should be refused now (the latest probe failed), or undefined. */
  refusal(): string | undefined {
    return this.#settled === "ok" ? undefined : this.#settled;
  }

  /** Probes every second until {@link stop}. */
  start(): void {
    clearInterval(this.#timer);
    void this.check();
    this.#timer = setInterval(() => void this.check(), REUSE_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #probe(): Promise<void> {
    const s = await stat(this.dir).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`data directory ${this.dir} is gone (${err.code ?? err.message})`);
    });
    if (s.dev !== this.identity.dev || s.ino !== this.identity.ino)
      throw new Error(`data directory ${this.dir} was replaced after the database opened it`);
    const fs = await statfs(this.dir);
    const free = fs.bavail * fs.bsize;
    const floor = this.opts.minFreeBytes ?? MIN_FREE_BYTES;
    if (free < floor)
      throw new Error(
        `data directory ${this.dir}: ${mib(free)} free, below the ${mib(floor)} a WAL segment needs`,
      );
    const path = join(this.dir, PROBE_FILE);
    try {
      const f = await open(path, "w", 0o600);
      try {
        await f.write(Buffer.alloc(512));
        await f.sync();
      } finally {
        await f.close();
      }
      await unlink(path);
    } catch (err) {
      await unlink(path).catch(() => {});
      const e = err as NodeJS.ErrnoException;
      throw new Error(`data directory ${this.dir} does not take a durable write (${e.code ?? e.message})`);
    }
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
