import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { DescMethod } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { type Compression, compressionNegotiate } from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { AccessRecorder } from "../../telemetry/index.js";
import { minimalGrpcMessage } from "../compat/index.js";
import { CallHeaders } from "./grpc-headers.js";
import { copyHeaders, frameMessage, once, readMessage, remaining, resetError } from "./grpc-messages.js";
import { countAsRefused } from "./h2-guard.js";
import { type FrameEncoder, frameEncoder } from "./proto-encode.js";

/**
 * The gRPC protocol (application/grpc, protobuf) served on Node's core HTTP/2 stream API, for
 * the gRPC port's unary and server-streaming calls. connect-es serves the same calls through
 * Node's HTTP/2 compatibility layer and its universal handler: a request and a response object,
 * a chain of async iterables, four Headers objects and an AbortController aborted with a
 * DOMException at the end of every call. Here a call is: the request message read off the
 * stream, the interceptors and the implementation (the same ones, in the same order, given the
 * same HandlerContext), the response written with `stream.respond` and trailers.
 *
 * What connect-es promises, this keeps, with connect-es's own helpers where it has them:
 * `grpc-timeout` (the context's signal aborts with DeadlineExceeded), cancellation (a reset
 * stream aborts the signal with connect's error for its code), `grpc-encoding` and
 * `grpc-accept-encoding` (gzip and br, compressed above 1 KiB, as connect does), the message
 * size limit (ResourceExhausted before the message is buffered), status, message and details
 * in the trailers (`setTrailerStatus`), and a malformed message answered InvalidArgument (as
 * ../compat/malformed-request.ts makes connect answer it). `grpc-message` is encoded minimally
 * (../compat/grpc-message.ts). The signal aborts only on cancellation, deadline or a write
 * failure, not when a call ends normally.
 *
 * Everything else on the port — Connect, gRPC-Web, gRPC with JSON, client and bidi streams
 * (reflection), unknown methods — is not taken here (the handler returns false) and goes on
 * to connect-es.
 */
export type H2StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => boolean;

/** A method's implementation as connect's ServiceImpl has it (bound to its service). */
type Impl = (req: unknown, ctx: HandlerContext) => unknown;

/** What a call needs to know about the caller before it runs (the pre-auth check). */
export interface CallGate {
  /**
   * Called with the call's key (`{ stream }`, also its access note's key) before the body is
   * read: resolves with the call's context values, or rejects with the refusal.
   */
  admit(
    call: { stream: ServerHttp2Stream },
    operation: string,
    headers: IncomingHttpHeaders,
  ): Promise<ContextValues>;
}

export interface GrpcStreamOptions {
  interceptors: Interceptor[];
  readMaxBytes: number;
  acceptCompression: Compression[];
  gate: CallGate;
  access?: AccessRecorder;
  /** Told of a refusal that is a fault of ours (Internal), as the pre-auth check does. */
  onInternal?: (err: unknown, where: string) => void;
}

interface Method {
  readonly desc: DescMethod;
  readonly operation: string;
  readonly unary: (req: UnaryRequest) => Promise<UnaryResponse>;
  readonly stream: (req: StreamRequest) => Promise<StreamResponse>;
  /** The response message (as the implementation returns it, not made a message) → its frame. */
  readonly encode: FrameEncoder;
}

const GRPC_CONTENT = /^application\/grpc(\+proto)?$/;

/** Collects the implementations registered on connect's router, for {@link grpcStreamHandler}. */
export class GrpcMethods {
  readonly #byPath = new Map<string, { desc: DescMethod; impl: Impl }>();

  add(service: { methods: readonly DescMethod[] }, impl: Record<string, unknown>): void {
    for (const desc of service.methods) {
      if (desc.methodKind !== "unary" && desc.methodKind !== "server_streaming") continue;
      const fn = impl[desc.localName];
      if (typeof fn !== "function") continue;
      this.#byPath.set(`/${desc.parent.typeName}/${desc.name}`, { desc, impl: fn.bind(impl) as Impl });
    }
  }

  get entries(): Iterable<[string, { desc: DescMethod; impl: Impl }]> {
    return this.#byPath.entries();
  }
}

export function grpcStreamHandler(methods: GrpcMethods, o: GrpcStreamOptions): H2StreamHandler {
  const byPath = new Map<string, Method>();
  for (const [path, { desc, impl }] of methods.entries) {
    // The call's context as made in `serve`, unless an interceptor gave the request another
    // header, signal or values.
    const ctxOf = (req: UnaryRequest | StreamRequest): HandlerContext => {
      const c = (req as unknown as Carrier)[CALL].ctx;
      if (req.header === c.requestHeader && req.signal === c.signal && req.contextValues === c.values)
        return c;
      return { ...c, requestHeader: req.header, signal: req.signal, values: req.contextValues };
    };
    const unary = async (req: UnaryRequest): Promise<UnaryResponse> => {
      const ctx = ctxOf(req);
      // Not made a message (`create`): ./proto-encode.ts encodes the init object as it is.
      const message = await impl(req.message, ctx);
      return {
        stream: false,
        message,
        method: desc,
        service: desc.parent,
        header: ctx.responseHeader,
        trailer: ctx.responseTrailer,
      } as UnaryResponse;
    };
    const stream = async (req: StreamRequest): Promise<StreamResponse> => {
      const ctx = ctxOf(req);
      let input: unknown;
      for await (const m of req.message) input = m;
      const message = impl(input, ctx) as AsyncIterable<unknown>;
      return {
        stream: true,
        message,
        method: desc,
        service: desc.parent,
        header: ctx.responseHeader,
        trailer: ctx.responseTrailer,
      } as StreamResponse;
    };
    // connect's applyInterceptors: the first interceptor is the outermost.
    const chain = <F>(fn: F): F => o.interceptors.reduceRight((n, i) => i(n as never) as F, fn);
    byPath.set(path, {
      desc,
      operation: path.slice(1),
      unary: chain(unary as never),
      stream: chain(stream as never),
      encode: frameEncoder(desc.output),
    });
  }

  return (stream, headers) => {
    const path = headers[":path"];
    const m = path === undefined ? undefined : byPath.get(path);
    if (!m || headers[":method"] !== "POST" || !GRPC_CONTENT.test(String(headers["content-type"] ?? "")))
      return false;
    const call: Call = { stream, ctx: undefined as unknown as HandlerContext, done: false, end: undefined };
    if (o.access)
      call.end = o.access.begin(call, "POST", path!, headers, () => void serve(m, call, headers, o));
    else void serve(m, call, headers, o);
    return true;
  };
}

const CALL = Symbol("call");

/**
 * The call's request as connect's handlers take it, from its context, written out whole: a
 * spread of an object with a symbol key takes V8's slow path (~2 µs a call, against 0.05 for
 * the literal).
 */
function handlerRequest(call: Call, stream: boolean, message: unknown) {
  const ctx = call.ctx;
  return {
    stream,
    method: ctx.method,
    service: ctx.service,
    requestMethod: "POST",
    url: ctx.url,
    signal: ctx.signal,
    header: ctx.requestHeader,
    contextValues: ctx.values,
    message,
    [CALL]: call,
  };
}
interface Carrier {
  [CALL]: Call;
}
interface Call {
  readonly stream: ServerHttp2Stream;
  ctx: HandlerContext;
  done: boolean;
  end: ReturnType<AccessRecorder["begin"]> | undefined;
  headersSent?: boolean;
  /** The response's end (its trailers, or a trailers-only refusal) was written. */
  ended?: boolean;
  grpcStatus?: string;
  decisionId?: string;
  endpoint?: string;
}

async function serve(
  m: Method,
  call: Call,
  headers: IncomingHttpHeaders,
  o: GrpcStreamOptions,
): Promise<void> {
  const { stream } = call;
  // A reset or a broken connection is an 'error' on the stream; the call ends on 'close'
  // (emitted once: `on`, not `once`, which wraps the listener and removes it again).
  stream.on("error", ignore);
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  stream.on("close", () => {
    if (timer) clearTimeout(timer);
    // Closed before the response was complete: the caller cancelled, or the connection went
    // (writableFinished is no guide: a reset stream counts as finished).
    const cut = !call.ended || !stream.writableFinished;
    if (cut && !abort.signal.aborted) abort.abort(resetError(stream.rstCode));
    finish(call, 200, call.grpcStatus, cut);
  });
  let values: ContextValues;
  try {
    values = await o.gate.admit(call, m.operation, headers);
  } catch (err) {
    const error = ConnectError.from(err);
    if (error.code === Code.Internal) o.onInternal?.(error, m.operation);
    if (!stream.destroyed) refuse(call, error);
    return;
  }
  // The caller gave up (or its stream was reset) while the key was checked: no work.
  if (stream.destroyed) return;

  const desc = m.desc;
  const requestHeader = CallHeaders.fromIncoming(headers);
  const responseHeader = CallHeaders.of("content-type", "application/grpc+proto");
  const responseTrailer = new CallHeaders();
  // Most calls name no encoding and no timeout: nothing to negotiate or parse then.
  const compression =
    headers["grpc-encoding"] === undefined && headers["grpc-accept-encoding"] === undefined
      ? IDENTITY
      : compressionNegotiate(
          o.acceptCompression,
          requestHeader.get("grpc-encoding"),
          requestHeader.get("grpc-accept-encoding"),
          "grpc-accept-encoding",
        );
  if (compression.response) responseHeader.set("grpc-encoding", compression.response.name);
  const timeout =
    headers["grpc-timeout"] === undefined
      ? NO_TIMEOUT
      : parseTimeout(requestHeader.get("grpc-timeout"), Number.MAX_SAFE_INTEGER);
  let deadline: number | undefined;
  if (timeout.timeoutMs !== undefined && !timeout.error) {
    deadline = Date.now() + timeout.timeoutMs;
    timer = setTimeout(
      () => abort.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
      timeout.timeoutMs,
    );
  }
  const scheme = (stream.session?.socket as { encrypted?: boolean } | undefined)?.encrypted
    ? "https"
    : "http";
  call.ctx = {
    method: desc,
    service: desc.parent,
    requestMethod: "POST",
    protocolName: "grpc",
    url: `${scheme}://${headers[":authority"] ?? ""}${headers[":path"]}`,
    timeoutMs: remaining.bind(undefined, deadline),
    signal: abort.signal,
    requestHeader,
    responseHeader,
    responseTrailer,
    values,
  } as HandlerContext;
  try {
    if (compression.error) throw compression.error;
    if (timeout.error) throw timeout.error;
    const input = await readMessage(stream, desc.input, compression.request, o.readMaxBytes);
    if (desc.methodKind === "unary") {
      const res = await m.unary(handlerRequest(call, false, input) as UnaryRequest);
      copyHeaders(res.header, responseHeader);
      copyHeaders(res.trailer, responseTrailer);
      const framed = frameMessage(m.encode, res.message, compression.response);
      const bytes = framed instanceof Promise ? await framed : framed;
      // The headers, the message and the trailers in one turn: `end` writes the message and
      // ends the stream; the trailers go when Node asks for them.
      if (!stream.destroyed) {
        close(call, responseHeader, responseTrailer, undefined, bytes);
        return;
      }
      await write(stream, bytes);
    } else {
      const res = await m.stream(handlerRequest(call, true, once(input)) as StreamRequest);
      copyHeaders(res.header, responseHeader);
      for await (const msg of res.message) {
        const framed = frameMessage(m.encode, msg, compression.response);
        const bytes = framed instanceof Promise ? await framed : framed;
        respond(call, responseHeader);
        // The messages of one turn of the event loop (the events of one upstream read) leave
        // together: the stream is corked at the first and uncorked once the turn's callbacks
        // and promise jobs have run (as ../openai/http-stream.ts does for the HTTP API).
        if (stream.writableCorked === 0 && !stream.destroyed) {
          stream.cork();
          process.nextTick(uncork, stream);
        }
        // Awaited only when the stream asks the writer to wait (no turn per message otherwise).
        const waiting = write(stream, bytes);
        if (waiting) await waiting;
      }
      copyHeaders(res.trailer, responseTrailer);
    }
    close(call, responseHeader, responseTrailer, undefined);
  } catch (err) {
    close(call, responseHeader, responseTrailer, err);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

function ignore(): void {}

function uncork(stream: ServerHttp2Stream): void {
  stream.uncork();
}

const IDENTITY: ReturnType<typeof compressionNegotiate> = { request: null, response: null };
const NO_TIMEOUT: ReturnType<typeof parseTimeout> = {};

function respond(call: Call, header: Headers): void {
  if (call.headersSent) return;
  call.headersSent = true;
  const h = header instanceof CallHeaders ? header.into(status200()) : headerRecord(header);
  call.decisionId = h["x-sovr-decision-id"] as string | undefined;
  call.endpoint = h["x-sovr-endpoint"] as string | undefined;
  call.stream.respond(h, RESPOND);
}

/** Writes `bytes`: undefined when written, else a promise of the stream's readiness for more. */
function write(stream: ServerHttp2Stream, bytes: Uint8Array): Promise<void> | undefined {
  if (stream.destroyed) return Promise.reject(new ConnectError("stream closed", Code.Canceled));
  if (stream.write(bytes)) return undefined;
  return new Promise((resolve, reject) => {
    const done = () => {
      stream.off("drain", done).off("close", done);
      if (stream.destroyed) reject(new ConnectError("stream closed", Code.Canceled));
      else resolve();
    };
    stream.on("drain", done).on("close", done);
  });
}

const RESPOND = { waitForTrailers: true } as const;

function status200(): Record<string, string | string[]> {
  return { ":status": "200" };
}

function headerRecord(header: Headers): Record<string, string | string[]> {
  const h = status200();
  for (const [k, v] of header) h[k] = v;
  return h;
}

/**
 * The status in the trailers (after the headers, which go out now if no message did), and
 * `last`, the unary response's message, written with the end of the stream.
 */
function close(call: Call, header: Headers, trailer: Headers, err: unknown, last?: Uint8Array): void {
  const { stream } = call;
  let out: Record<string, string | string[]>;
  if (err === undefined && trailer instanceof CallHeaders) {
    // Success: the trailers as they are, then grpc-status 0 (as setTrailerStatus sets it).
    out = trailer.size === 0 ? {} : trailer.into({});
    const message = out["grpc-message"];
    if (typeof message === "string") out["grpc-message"] = minimalGrpcMessage(message);
    out["grpc-status"] = "0";
    if (stream.destroyed) return;
  } else {
    const error =
      err === undefined
        ? undefined
        : err instanceof ConnectError
          ? err
          : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
    const t = setTrailerStatus(trailer, error);
    if (stream.destroyed) return;
    out = {};
    for (const [k, v] of t) out[k] = k === "grpc-message" ? minimalGrpcMessage(v) : v;
  }
  respond(call, header);
  call.grpcStatus = out["grpc-status"] as string;
  stream.on("wantTrailers", () => stream.sendTrailers(out));
  call.ended = true;
  if (last) stream.end(last);
  else stream.end();
  // Body still arriving (an error before it was read): taken and dropped.
  if (!stream.readableEnded) stream.resume();
}

/** A refusal from the headers: trailers-only, the rest of the body refused (./rpc-refusal.ts). */
function refuse(call: Call, error: ConnectError): void {
  const { stream } = call;
  const h = new CallHeaders({ "content-type": "application/grpc+proto" });
  setTrailerStatus(h, error);
  const out: Record<string, string> = { ":status": "200" };
  for (const [k, v] of h) out[k] = k === "grpc-message" ? minimalGrpcMessage(v) : v;
  countAsRefused(stream);
  call.headersSent = true;
  call.ended = true;
  stream.respond(out, { endStream: true });
  finish(call, 200, out["grpc-status"], false);
  if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
}

function finish(call: Call, status: number, grpcStatus: string | undefined, aborted: boolean): void {
  if (call.done) return;
  call.done = true;
  call.end?.({ status, grpcStatus, aborted, decisionId: call.decisionId, endpoint: call.endpoint });
}
