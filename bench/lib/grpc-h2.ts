import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
} from "node:http2";
import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import {
  ChatRequestSchema,
  ChatResponseSchema,
  ChatStreamResponseSchema,
  RouterService,
} from "../../src/gen/sovereign/v1/router_pb.js";
import { type Call, CallError, MODEL, PROMPT } from "./clients.js";

/**
 * The load generator's gRPC client: gRPC over `node:http2`, nothing else. The bench used
 * @grpc/grpc-js, which costs the generator ~1.5 CPU-s per 1,000 calls (2× the HTTP client) on
 * the cores the server runs on, and adds its own queueing: what was measured was partly the
 * client. Here a call is one HTTP/2 request on a session opened before measuring; the request
 * message is encoded and framed once; the response is framed, decoded and its `grpc-status`
 * checked, like any gRPC client must. No `grpc-timeout` is sent (the HTTP targets send no
 * deadline either); a call is cut by the load generator's abort signal.
 */

/** A few HTTP/2 sessions to one server, connected up front and used round-robin. */
export class H2Sessions {
  private next = 0;
  private constructor(
    private readonly authority: string,
    private readonly sessions: ClientHttp2Session[],
  ) {}

  /** Opens `size` sessions to `address` (`host:port`, plaintext) and waits until each is connected. */
  static async open(address: string, size = 4): Promise<H2Sessions> {
    const authority = `http://${address}`;
    const sessions = await Promise.all(Array.from({ length: size }, () => H2Sessions.connect(authority)));
    return new H2Sessions(authority, sessions);
  }

  private static connect(authority: string): Promise<ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      // Large windows: flow control is never what limits a call here.
      const s = connect(authority, { settings: { initialWindowSize: 4 << 20 } });
      s.once("connect", () => {
        s.setLocalWindowSize(16 << 20);
        s.off("error", reject);
        s.on("error", () => {}); // surfaced per stream; a dead session is replaced in pick()
        resolve(s);
      });
      s.once("error", reject);
    });
  }

  /** The next live session; a closed one is replaced (connecting then counts in that call's latency). */
  pick(): ClientHttp2Session {
    const i = this.next;
    this.next = (i + 1) % this.sessions.length;
    let s = this.sessions[i]!;
    if (s.closed || s.destroyed) {
      s = connect(this.authority, { settings: { initialWindowSize: 4 << 20 } });
      s.on("error", () => {});
      this.sessions[i] = s;
    }
    return s;
  }

  close(): Promise<void> {
    return Promise.all(this.sessions.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => {});
  }
}

/** The gRPC length-prefixed message: flag 0 (uncompressed), 4-byte big-endian length, bytes. */
function frame<Desc extends DescMessage>(schema: Desc, msg: MessageShape<Desc>): Buffer {
  const bytes = toBinary(schema, msg);
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out[0] = 0;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

/**
 * Splits the response body into messages as it arrives, calling `onMessage` with each message's
 * bytes. Throws on a compressed message (none was asked for).
 */
function deframer(onMessage: (bytes: Uint8Array) => void): (chunk: Buffer) => void {
  let buf: Buffer | undefined;
  return (chunk) => {
    buf = buf?.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      if (buf[0] !== 0) throw new CallError("bad frame", `compressed message (flag ${buf[0]})`);
      onMessage(buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
    }
  };
}

const STATUS_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
];

/** The call's outcome from its response headers and trailers (a trailers-only response has both in one). */
function statusError(
  headers: IncomingHttpHeaders,
  trailers: IncomingHttpHeaders | undefined,
): CallError | null {
  if (Number(headers[":status"]) !== 200)
    return new CallError(`http ${headers[":status"]}`, "not a gRPC response");
  const status = trailers?.["grpc-status"] ?? headers["grpc-status"];
  if (status === undefined) return new CallError("truncated", "stream ended without grpc-status");
  if (status === "0") return null;
  const raw = String(trailers?.["grpc-message"] ?? headers["grpc-message"] ?? "");
  let message = raw;
  try {
    message = decodeURIComponent(raw);
  } catch {}
  return new CallError(`grpc ${STATUS_NAMES[Number(status)] ?? status}`, message.slice(0, 200));
}

interface Exchange {
  /** Request headers beyond the gRPC ones (e.g. `authorization`). */
  headers: Record<string, string>;
  path: string;
  body: Buffer;
  /** Each response message; may throw a CallError (the call then fails). */
  onMessage: (bytes: Uint8Array) => void;
  /** Once the call has completed with grpc-status 0: the time to resolve with, or a CallError to throw. */
  onOk: (endedAt: number) => number;
}

/** One gRPC call on `sessions`: resolves or rejects once the stream is closed, whatever happened. */
function exchange(sessions: H2Sessions, x: Exchange, signal: AbortSignal): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let stream: ClientHttp2Stream;
    try {
      stream = sessions.pick().request(
        {
          ":method": "POST",
          ":path": x.path,
          "content-type": "application/grpc+proto",
          te: "trailers",
          ...x.headers,
        },
        { endStream: false },
      );
    } catch (err) {
      reject(new CallError("connect", (err as Error).message));
      return;
    }
    stream.end(x.body);
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    let endedAt = 0;
    let failure: Error | undefined;
    const onData = deframer(x.onMessage);
    const cancel = () => stream.close(constants.NGHTTP2_CANCEL);
    signal.addEventListener("abort", cancel, { once: true });
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("data", (chunk: Buffer) => {
      if (failure) return;
      try {
        onData(chunk);
      } catch (err) {
        failure = err as Error;
      }
    });
    stream.on("trailers", (t) => {
      trailers = t;
      endedAt = performance.now();
    });
    stream.on("error", (err) => {
      failure ??= new CallError("stream", err.message);
    });
    stream.on("close", () => {
      signal.removeEventListener("abort", cancel);
      if (failure) return reject(failure);
      if (stream.rstCode && stream.rstCode !== constants.NGHTTP2_NO_ERROR)
        return reject(new CallError("reset", `HTTP/2 stream reset, code ${stream.rstCode}`));
      const bad = statusError(headers, trailers);
      if (bad) return reject(bad);
      try {
        resolve(x.onOk(endedAt || performance.now()));
      } catch (err) {
        reject(err);
      }
    });
  });
}

const path = (service: { typeName: string }, method: { name: string }) =>
  `/${service.typeName}/${method.name}`;
const CHAT_PATH = path(RouterService, RouterService.method.chat);
const CHAT_STREAM_PATH = path(RouterService, RouterService.method.chatStream);
const HEALTH_PATH = path(Health, Health.method.check);

function chatRequest(prompt: string): Buffer {
  return frame(
    ChatRequestSchema,
    create(ChatRequestSchema, { model: MODEL, messages: [{ role: "user", content: prompt }] }),
  );
}

/** RouterService/Chat: resolves when the response's trailers arrive; the message must carry content. */
export function h2Chat(sessions: H2Sessions, headers: Record<string, string>, prompt = PROMPT): Call {
  const body = chatRequest(prompt);
  return (signal) => {
    let content = false;
    let messages = 0;
    return exchange(
      sessions,
      {
        headers,
        path: CHAT_PATH,
        body,
        onMessage: (bytes) => {
          messages++;
          content = Boolean(fromBinary(ChatResponseSchema, bytes).message?.content);
        },
        onOk: (endedAt) => {
          if (messages !== 1) throw new CallError("bad body", `${messages} response messages`);
          if (!content) throw new CallError("bad body", "empty content");
          return endedAt;
        },
      },
      signal,
    );
  };
}

/** RouterService/ChatStream: time to the first message carrying content; read to the end, status checked. */
export function h2ChatStream(sessions: H2Sessions, headers: Record<string, string>, prompt = PROMPT): Call {
  const body = chatRequest(prompt);
  return (signal) => {
    let first: number | undefined;
    let finished = false;
    return exchange(
      sessions,
      {
        headers,
        path: CHAT_STREAM_PATH,
        body,
        onMessage: (bytes) => {
          const m = fromBinary(ChatStreamResponseSchema, bytes);
          if (first === undefined && m.event.case === "delta" && m.event.value.content)
            first = performance.now();
          if (m.event.case === "finish") finished = true;
        },
        onOk: () => {
          if (first === undefined) throw new CallError("no content", "stream ended without a content chunk");
          if (!finished) throw new CallError("truncated", "stream ended without finish");
          return first;
        },
      },
      signal,
    );
  };
}

/** grpc.health.v1.Health/Check: the gRPC round trip through sovr with no routing at all. */
export function h2Health(sessions: H2Sessions): Call {
  const body = frame(HealthCheckRequestSchema, create(HealthCheckRequestSchema, {}));
  return (signal) => {
    let messages = 0;
    return exchange(
      sessions,
      {
        headers: {},
        path: HEALTH_PATH,
        body,
        onMessage: (bytes) => {
          messages++;
          fromBinary(HealthCheckResponseSchema, bytes);
        },
        onOk: (endedAt) => {
          if (messages !== 1) throw new CallError("bad body", `${messages} response messages`);
          return endedAt;
        },
      },
      signal,
    );
  };
}
