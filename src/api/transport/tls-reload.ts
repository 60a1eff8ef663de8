import { createHash, X509Certificate } from "node:crypto";
import { EventEmitter } from "node:events";
import { type FSWatcher, watch } from "node:fs";
import type { SecureServerOptions } from "node:http2";
import { dirname } from "node:path";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { loadTlsOptions, type TlsFiles } from "./tls.js";

/**
 * Options for the HTTPS server on the HTTP/1.1 port: the gRPC port's ({@link loadTlsOptions}:
 * TLS ≥ 1.2, client certificates required with a CA), with ALPN `http/1.1` instead of `h2`.
 */
export async function loadHttpsOptions(files: TlsFiles): Promise<SecureServerOptions> {
  const { allowHTTP1: _h1, ...options } = await loadTlsOptions(files);
  return { ...options, ALPNProtocols: ["http/1.1"] };
}

/** A TLS listener whose certificate can be replaced for new connections (a `tls.Server`). */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

export interface TlsReloadTarget {
  /** "grpc" or "http": named in logs and events. */
  port: string;
  files: TlsFiles;
  server: SecureContextTarget;
  /** The options the server was started with (TLS version, CA): kept across reloads. */
  options: SecureServerOptions;
}

export interface TlsReloadEvents {
  /** A renewed certificate now serves new connections on `port`. */
  reloaded: [{ port: string; serial: string; notAfter: string }];
  /** The files on disk could not be used (unreadable, not PEM, key not matching): old kept. */
  failed: [{ port: string; message: string }];
}

/**
 * Certificate renewal without restart, on both ports: watches the directories of the TLS
 * files (a rename or a symlink swap, as cert-manager and kubelet do it, is seen there) and
 * re-reads them every `intervalMs` as a fallback (network file systems, missed events). When
 * the bytes change, the new pair is checked (PEM, key matching the certificate) and applied with
 * `server.setSecureContext()`: connections made from then on get the new certificate, open ones
 * keep theirs. A pair that fails the check is logged (the file and the reason, never its
 * content) and the old one stays: the port never serves without TLS, nor with a half-renewed
 * pair (a certificate written before its key is simply retried on the key's event).
 */
export class TlsReloader extends EventEmitter<TlsReloadEvents> {
  readonly #targets: { target: TlsReloadTarget; applied: string; failed: string }[];
  readonly #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(
    targets: readonly TlsReloadTarget[],
    private readonly intervalMs: number,
  ) {
    super();
    this.#targets = targets.map((target) => ({
      target,
      applied: fingerprint(target.options),
      failed: "",
    }));
  }

  /** Starts watching; errors of the watchers themselves fall back to the interval. */
  start(): void {
    const dirs = new Set(
      this.#targets.flatMap(({ target: { files } }) =>
        [files.certFile, files.keyFile, files.caFile].filter((f) => f !== undefined).map((f) => dirname(f)),
      ),
    );
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#soon());
        w.on("error", () => w.close());
        this.#watchers.push(w);
      } catch {
        // Not watchable here (some network file systems): the interval still re-reads.
      }
    }
    if (this.intervalMs > 0) {
      this.#timer = setInterval(() => void this.check(), this.intervalMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    for (const w of this.#watchers.splice(0)) w.close();
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
  }

  /** Several events for one renewal (cert, then key) become one check shortly after the last. */
  #soon(): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.check(), 50);
    this.#debounce.unref();
  }

  /** Re-reads the files now; resolves once every port has the newest usable pair. */
  check(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        for (const t of this.#targets) await this.#checkOne(t);
      } while (this.#again);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #checkOne(t: { target: TlsReloadTarget; applied: string; failed: string }): Promise<void> {
    const { port, files, server, options } = t.target;
    let next: SecureServerOptions;
    try {
      next = { ...options, ...(await loadTlsOptions(files)) };
    } catch (err) {
      this.#fail(t, `read:${(err as Error).message}`, port, (err as Error).message);
      return;
    }
    const print = fingerprint(next);
    if (print === t.applied) return;
    const context: SecureContextOptions = {
      cert: next.cert,
      key: next.key,
      ...(next.ca ? { ca: next.ca } : {}),
      ...(next.minVersion ? { minVersion: next.minVersion } : {}),
    };
    try {
      // Throws when the key does not match the certificate or either does not parse.
      createSecureContext(context);
      const leaf = new X509Certificate(next.cert as Buffer);
      server.setSecureContext(context);
      t.applied = print;
      t.failed = "";
      this.emit("reloaded", { port, serial: leaf.serialNumber, notAfter: leaf.validTo });
    } catch (err) {
      this.#fail(t, print, port, `${files.certFile} / ${files.keyFile}: ${(err as Error).message}`);
    }
  }

  /** Told once per distinct broken state, not at every interval. */
  #fail(t: { failed: string }, state: string, port: string, message: string): void {
    if (t.failed === state) return;
    t.failed = state;
    this.emit("failed", { port, message });
  }
}

function fingerprint(o: SecureServerOptions): string {
  const h = createHash("sha256");
  for (const part of [o.cert, o.key, o.ca]) {
    h.update(part === undefined ? "-" : Buffer.isBuffer(part) ? part : String(part));
    h.update("\0");
  }
  return h.digest("hex");
}
