import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServerHttp2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { refuseH1, refuseRpc } from "./rpc-refusal.js";
import type { NodeHandler } from "./server.js";

/**
 * The calls admission control counts: those that route (policy, a decision record, an upstream
 * call). Health, readiness, metrics, reflection, the catalog and the admin and audit services
 * are not counted and never refused here, so probes keep answering and an operator can still
 * act on an overloaded process (and long-lived watches do not use up the bound).
 */
export const ADMITTED: ReadonlySet<string> = new Set([
  "sovereign.v1.RouterService/Chat",
  "sovereign.v1.RouterService/ChatStream",
  "sovereign.v1.RouterService/Embed",
  "sovereign.v1.RouterService/Explain",
  "POST /v1/chat/completions",
  "POST /v1/responses",
  "POST /v1/embeddings",
  "POST /v1/messages",
]);

/** Seconds a refused caller is told to wait (`Retry-After`, and `retry-after` on gRPC). */
export const RETRY_AFTER_SECONDS = 1;

/**
 * A call refused because the process already serves SOVR_MAX_IN_FLIGHT routed calls.
 *
 * gRPC status UNAVAILABLE, not RESOURCE_EXHAUSTED: the condition is the server's, transient and
 * the call was not started, which is what UNAVAILABLE means ("most likely a transient condition,
 * which can be corrected by retrying with a backoff") and what gRPC clients, retry policies and
 * proxies retry, on this replica or another; RESOURCE_EXHAUSTED is the caller's own quota here
 * (the per-key and per-tenant limits, HTTP 429), after which a client should slow down rather
 * than move. Connect maps UNAVAILABLE to HTTP 503, as the HTTP API answers.
 */
export class OverloadedError extends ConnectError {
  constructor(readonly limit: number) {
    super(
      `server overloaded: ${limit} requests already in flight (SOVR_MAX_IN_FLIGHT); retry in ${RETRY_AFTER_SECONDS} s`,
      Code.Unavailable,
      { "retry-after": String(RETRY_AFTER_SECONDS) },
    );
  }
}

export interface AdmissionOptions {
  /** Routed calls in flight at once in this process; 0 = unbounded. */
  maxInFlight: number;
  /** Told of every refusal (the metric), with the surface that refused it. */
  onRefused?: (surface: "grpc" | "http") => void;
  /** Told at most once per `logEveryMs` (1 s) how many calls were refused since the last time. */
  onRefusedLog?: (refused: number, limit: number) => void;
  now?: () => number;
  logEveryMs?: number;
}

/**
 * Admission control: a bound on the routed calls one process serves at once, across both APIs
 * and all ports. A call over the bound is refused at once, from its headers, before its body is
 * read and before authentication or any routing work; it holds nothing. Without it an
 * overloaded process accepts every call and holds it (its body, its promises, its upstream
 * socket) until memory runs out. A slot is held from admission until the response ends (or the
 * caller goes away), streams included.
 */
export class Admission {
  readonly #max: number;
  readonly #o: AdmissionOptions;
  #inflight = 0;
  #refusedSinceLog = 0;
  #lastLog = Number.NEGATIVE_INFINITY;

  constructor(o: AdmissionOptions) {
    this.#max = o.maxInFlight;
    this.#o = o;
  }

  get limit(): number {
    return this.#max;
  }

  /** Routed calls admitted and not yet ended. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Takes a slot (returning its idempotent release) or undefined when the bound is reached. */
  enter(surface: "grpc" | "http"): (() => void) | undefined {
    if (this.#max > 0 && this.#inflight >= this.#max) {
      this.#refused(surface);
      return undefined;
    }
    this.#inflight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inflight--;
    };
  }

  #refused(surface: "grpc" | "http"): void {
    this.#o.onRefused?.(surface);
    this.#refusedSinceLog++;
    const now = (this.#o.now ?? Date.now)();
    if (now - this.#lastLog < (this.#o.logEveryMs ?? 1000)) return;
    this.#lastLog = now;
    const n = this.#refusedSinceLog;
    this.#refusedSinceLog = 0;
    this.#o.onRefusedLog?.(n, this.#max);
  }

  /**
   * The gRPC port's own gRPC path (./grpc-stream.ts): a slot for the call on `stream`, released
   * when the stream closes, or a thrown {@link OverloadedError}.
   */
  admitStream(stream: ServerHttp2Stream, operation: string): void {
    if (!ADMITTED.has(operation)) return;
    const release = this.enter("grpc");
    if (!release) throw new OverloadedError(this.#max);
    if (stream.closed) release();
    else stream.on("close", release); // 'close' comes once
  }

  /**
   * connect-es's Node handler (Connect, gRPC-Web and the gRPC calls it serves, both ports): a
   * routed call over the bound is answered in its own protocol (./rpc-refusal.ts), unread.
   */
  wrap(handler: NodeHandler): NodeHandler {
    if (this.#max <= 0) return handler;
    return (req, res) => {
      const operation = (req.url ?? "").split("?", 1)[0]!.slice(1);
      if (!ADMITTED.has(operation)) return handler(req, res);
      const release = this.enter("grpc");
      if (!release) return refuseRpc(req, res, new OverloadedError(this.#max));
      hold(res, release);
      handler(req, res);
    };
  }

  /**
   * The OpenAI-compatible and Anthropic HTTP API: true when `req` was refused (503 with
   * `Retry-After` and the API's own error body, answered unread; the connection closes); false
   * when it may go on (a slot held until its response ends, or not a routed call).
   */
  refuseHttp(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#max <= 0 || req.method !== "POST") return false;
    const path = (req.url ?? "/").split("?", 1)[0]!;
    if (!ADMITTED.has(`POST ${path}`)) return false;
    const release = this.enter("http");
    if (release) {
      hold(res, release);
      return false;
    }
    const message = new OverloadedError(this.#max).rawMessage;
    const body = JSON.stringify(
      path === "/v1/messages"
        ? { type: "error", error: { type: "overloaded_error", message } }
        : { error: { message, type: "service_unavailable", param: null, code: "overloaded" } },
    );
    // The body is not read (a small one is discarded first): the connection then closes.
    refuseH1(
      req,
      res,
      503,
      {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "retry-after": String(RETRY_AFTER_SECONDS),
      },
      Buffer.from(body),
    );
    return true;
  }
}

function hold(res: Parameters<NodeHandler>[1], release: () => void): void {
  if (res.writableFinished || res.destroyed) release();
  else res.once("close", release).once("finish", release);
}
