import { createHash } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { type PolicyBundle, readBundle } from "./bundle.js";
import type { BundleVerificationKey } from "./bundle-signature.js";
import type { PolicyEngine } from "./engine.js";
import type { BundleRef } from "./types.js";

/** The logger we need; pino's `(fields, message)` order. */
export interface PolicyLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface BundleSourceOptions {
  engine: PolicyEngine;
  /** When set, every bundle must be signed by this key (unsigned or altered ones are rejected). */
  verificationKey?: BundleVerificationKey;
  /**
   * A bundle tarball, or a directory holding `bundle.tar.gz`. The directory is watched, so a
   * bundle replaced by rename (as `buildPolicyBundle` writes it) is seen.
   */
  path?: string;
  /** Debounce of file change events (default 200 ms). */
  debounceMs?: number;
  /** An OPA bundle server URL polled with `If-None-Match` (ETag). */
  url?: string;
  /** Extra request headers for the bundle server (e.g. authorization). */
  headers?: Record<string, string>;
  /** Poll delay is random between min and max, as OPA's `polling.min/max_delay_seconds` (default 10–20 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
  logger?: PolicyLogger;
  /**
   * Called with every bundle that verified and instantiated, *before* it is activated (the
   * server stores it by sha256 for replay). If it throws, the bundle is rejected: a decision
   * must never name a bundle that cannot be replayed.
   */
  onLoaded?: (bytes: Uint8Array, ref: BundleRef) => void | Promise<void>;
  /** Called for each rejected bundle (the server counts it in a metric). */
  onRejected?: (origin: string, reason: string) => void;
}

/** Counters since start. */
export interface BundleSourceStats {
  loaded: number;
  rejected: number;
  lastError: string | undefined;
}

const noopLogger: PolicyLogger = { info() {}, warn() {}, error() {} };

/**
 * Keeps the engine on the newest good bundle from a watched file/directory and/or an OPA
 * bundle server. A bundle that fails to read, verify or instantiate is rejected with a
 * logged reason and counted; the engine keeps the last good one (or none, and then the
 * router refuses to route). Loads are serialised; an unchanged bundle (same sha256) is skipped.
 *
 * @example
 * const source = new BundleSource({ engine, path: "policies/dist", logger, onLoaded: store });
 * await source.start(); // loads the current bundle, then watches
 */
export class BundleSource {
  private readonly opts: BundleSourceOptions;
  private readonly file: string | undefined;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private pollAbort: AbortController | undefined;
  private etag: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly counters: BundleSourceStats = { loaded: 0, rejected: 0, lastError: undefined };

  constructor(options: BundleSourceOptions) {
    if (!options.path && !options.url) throw new Error("BundleSource needs a path or a url");
    this.opts = options;
    this.file = options.path ? resolve(options.path) : undefined;
  }

  get stats(): Readonly<BundleSourceStats> {
    return { ...this.counters };
  }

  private get log(): PolicyLogger {
    return this.opts.logger ?? noopLogger;
  }

  /** Loads what is there now (a failure is logged, not thrown), then watches and polls. */
  async start(): Promise<void> {
    this.stopped = false;
    if (this.file) {
      const file = await this.bundleFile();
      await this.reloadFile();
      this.watcher = watch(dirname(file), (_event, name) => {
        if (name === null || name === basename(file)) this.scheduleFileReload();
      });
      this.watcher.on("error", (err) => this.log.error({ err, path: file }, "policy bundle watch failed"));
    }
    if (this.opts.url) await this.poll();
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    clearTimeout(this.debounce);
    clearTimeout(this.pollTimer);
    this.pollAbort?.abort();
  }

  /** Reads the watched file now (also what a change event does after the debounce). */
  reloadFile(): Promise<boolean> {
    return this.serialise(async () => {
      const file = await this.bundleFile();
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (err) {
        return this.reject(file, `cannot read bundle: ${(err as Error).message}`);
      }
      return this.accept(file, bytes);
    });
  }

  /** Fetches from the bundle server now; returns whether a new bundle was activated. */
  pollNow(): Promise<boolean> {
    return this.serialise(() => this.fetchBundle());
  }

  private async poll(): Promise<void> {
    await this.pollNow();
    if (this.stopped) return;
    const min = this.opts.minDelayMs ?? 10_000;
    const max = Math.max(min, this.opts.maxDelayMs ?? 20_000);
    this.pollTimer = setTimeout(() => void this.poll(), min + Math.random() * (max - min));
    this.pollTimer.unref();
  }

  private async fetchBundle(): Promise<boolean> {
    const url = this.opts.url!;
    this.pollAbort = new AbortController();
    const headers: Record<string, string> = { ...this.opts.headers };
    if (this.etag) headers["if-none-match"] = this.etag;
    let res: Response;
    let bytes: Uint8Array;
    try {
      res = await fetch(url, { headers, signal: this.pollAbort.signal });
      if (res.status === 304) return false;
      if (res.status !== 200) return this.reject(url, `bundle server answered HTTP ${res.status}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      if (this.stopped) return false;
      return this.reject(url, `bundle download failed: ${(err as Error).message}`);
    }
    const accepted = await this.accept(url, bytes);
    // Remember the ETag only for a bundle we took, so a rejected one is fetched again.
    if (accepted || this.isCurrent(bytes)) this.etag = res.headers.get("etag") ?? undefined;
    return accepted;
  }

  private scheduleFileReload(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reloadFile(), this.opts.debounceMs ?? 200);
  }

  /** A directory means `<dir>/bundle.tar.gz`. */
  private async bundleFile(): Promise<string> {
    const path = this.file!;
    try {
      if ((await stat(path)).isDirectory()) return join(path, "bundle.tar.gz");
    } catch {
      // missing: treat as a file path that may appear later
    }
    return path;
  }

  private isCurrent(bytes: Uint8Array): boolean {
    return this.opts.engine.current?.sha256 === createHash("sha256").update(bytes).digest("hex");
  }

  private async accept(origin: string, bytes: Uint8Array): Promise<boolean> {
    if (this.isCurrent(bytes)) return false;
    let bundle: PolicyBundle;
    try {
      bundle = await readBundle(bytes, { verificationKey: this.opts.verificationKey });
    } catch (err) {
      return this.reject(origin, (err as Error).message);
    }
    try {
      const prepared = await this.opts.engine.prepare(bundle);
      await this.opts.onLoaded?.(bytes, bundle.ref);
      this.opts.engine.activate(prepared);
    } catch (err) {
      return this.reject(origin, (err as Error).message);
    }
    this.counters.loaded++;
    this.log.info({ origin, ...bundle.ref, verified: bundle.verified }, "policy bundle activated");
    return true;
  }

  private reject(origin: string, reason: string): false {
    this.counters.rejected++;
    this.counters.lastError = reason;
    const current = this.opts.engine.current;
    this.log.warn(
      { origin, reason, keeping: current?.revision ?? null },
      current
        ? "policy bundle rejected; keeping the last good bundle"
        : "policy bundle rejected; no policy loaded",
    );
    this.opts.onRejected?.(origin, reason);
    return false;
  }

  private serialise<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
