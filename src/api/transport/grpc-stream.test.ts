import { constants, connect as h2connect } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createClient,
  createContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  connectNodeAdapter,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckRequestSchema } from "../../gen/grpc/health/v1/health_pb.js";
import { ChatRequestSchema, RouterService } from "../../gen/sovereign/v1/router_pb.js";
import { GrpcMethods, grpcStreamHandler } from "./grpc-stream.js";
import { listen, type RunningServers } from "./server.js";

/**
 * The gRPC port's own gRPC path (grpc-stream.ts) with a test RouterService behind it, on the
 * real listener (server.ts): what connect-es promised on that port, kept. Calls by
 * connect-node's gRPC client and by raw node:http2, so the wire itself is checked.
 */

const seen: { signal?: AbortSignal; header?: string | null; interceptor: number } = { interceptor: 0 };
let aborted: (reason: unknown) => void = () => {};

const impl = {
  async chat(req: { model: string }, ctx: HandlerContext) {
    seen.header = ctx.requestHeader.get("x-test");
    ctx.responseHeader.set("x-sovr-decision-id", "d-1");
    ctx.responseTrailer.set("x-trailer", "t-1");
    if (req.model === "fail") {
      throw new ConnectError(
        "no endpoint for sim-eu/chat-small: denied",
        Code.FailedPrecondition,
        undefined,
        [{ desc: HealthCheckRequestSchema, value: { service: "detail" } }],
      );
    }
    if (req.model === "hang") {
      seen.signal = ctx.signal;
      await new Promise((_, reject) => {
        const stop = () => {
          aborted(ctx.signal.reason);
          reject(ctx.signal.reason);
        };
        if (ctx.signal.aborted) stop();
        else ctx.signal.addEventListener("abort", stop);
      });
    }
    if (req.model === "boom") throw new TypeError("not a ConnectError");
    return { message: { role: "assistant", content: req.model === "big" ? "x".repeat(4096) : "ok" } };
  },
  async *chatStream(req: { model: string }, ctx: HandlerContext) {
    ctx.responseHeader.set("x-sovr-endpoint", "sim-eu/chat-small");
    for (let i = 0; i < 3; i++) yield { event: { case: "delta" as const, value: { content: `c${i}` } } };
    if (req.model === "fail-late") throw new ConnectError("upstream went away", Code.Unavailable);
  },
};

const counting: Interceptor = (next) => async (req) => {
  seen.interceptor++;
  return next(req);
};

let servers: RunningServers;
let base: string;

beforeAll(async () => {
  const methods = new GrpcMethods();
  methods.add(RouterService, impl);
  const compat = connectNodeAdapter({
    interceptors: [counting],
    readMaxBytes: 1024,
    routes: (r) => r.service(RouterService, impl as never),
  });
  servers = await listen(compat as never, (_req, res) => res.end(), {
    host: "127.0.0.1",
    grpcPort: 0,
    httpPort: 0,
    http2: { maxConcurrentStreams: 100, maxResetsPerSecond: 100 },
    grpcStream: grpcStreamHandler(methods, {
      interceptors: [counting],
      readMaxBytes: 1024,
      acceptCompression: [compressionGzip, compressionBrotli],
      gate: { admit: async () => createContextValues() },
    }),
  });
  base = `http://127.0.0.1:${servers.grpcPort}`;
});
afterAll(() => servers.close(100));

const grpc = (o: Partial<Parameters<typeof createGrpcTransport>[0]> = {}) =>
  createClient(RouterService, createGrpcTransport({ baseUrl: base, ...o }));

/** One raw gRPC call: response headers, trailers and body bytes. */
function raw(path: string, body: Buffer, headers: Record<string, string> = {}) {
  return new Promise<{ headers: Record<string, unknown>; trailers: Record<string, unknown>; body: Buffer }>(
    (resolve, reject) => {
      const s = h2connect(base);
      const st = s.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      let h: Record<string, unknown> = {};
      let t: Record<string, unknown> = {};
      const chunks: Buffer[] = [];
      st.on("response", (x) => {
        h = x;
      });
      st.on("trailers", (x) => {
        t = x;
      });
      st.on("data", (c: Buffer) => chunks.push(c));
      st.on("close", () => {
        s.close();
        resolve({ headers: h, trailers: t, body: Buffer.concat(chunks) });
      });
      st.on("error", reject);
      st.end(body);
    },
  );
}

function frame(bytes: Uint8Array, flags = 0): Buffer {
  const b = Buffer.alloc(5 + bytes.length);
  b[0] = flags;
  b.writeUInt32BE(bytes.length, 1);
  b.set(bytes, 5);
  return b;
}

const CHAT = "/sovereign.v1.RouterService/Chat";
/** The error a call must end with. */
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("the call succeeded");
    },
    (e: unknown) => ConnectError.from(e),
  );
const chatBytes = (model: string) => toBinary(ChatRequestSchema, create(ChatRequestSchema, { model }));

describe("gRPC on HTTP/2 streams (grpc-stream.ts)", () => {
  it("unary: message, response headers, trailers; interceptors run; request headers reach the context", async () => {
    const before = seen.interceptor;
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const res = await grpc().chat(
      { model: "m" },
      { headers: { "x-test": "yes" }, onHeader: (h) => (header = h), onTrailer: (t) => (trailer = t) },
    );
    expect(res.message?.content).toBe("ok");
    expect(header?.get("x-sovr-decision-id")).toBe("d-1");
    expect(trailer?.get("x-trailer")).toBe("t-1");
    expect(seen.header).toBe("yes");
    expect(seen.interceptor).toBe(before + 1);
  });

  it("server streaming: every message, then OK; an error after messages is in the trailers", async () => {
    const got: string[] = [];
    for await (const m of grpc().chatStream({ model: "m" }))
      if (m.event.case === "delta") got.push(m.event.value.content);
    expect(got).toEqual(["c0", "c1", "c2"]);
    const late: string[] = [];
    const err = await (async () => {
      for await (const m of grpc().chatStream({ model: "fail-late" }))
        if (m.event.case === "delta") late.push(m.event.value.content);
    })().catch((e: unknown) => ConnectError.from(e));
    expect(late).toHaveLength(3);
    expect(err?.code).toBe(Code.Unavailable);
  });

  it("status, minimally encoded grpc-message and google.rpc.Status details", async () => {
    const err = await failure(grpc().chat({ model: "fail" }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe("no endpoint for sim-eu/chat-small: denied");
    expect(err.findDetails(HealthCheckRequestSchema)[0]?.service).toBe("detail");
    const r = await raw(CHAT, frame(chatBytes("fail")));
    expect(r.trailers["grpc-message"]).toBe("no endpoint for sim-eu/chat-small: denied");
    expect(r.trailers["grpc-status-details-bin"]).toBeTruthy();
    const boom = await raw(CHAT, frame(chatBytes("boom")));
    expect(boom.trailers["grpc-status"]).toBe(String(Code.Internal));
  });

  it("compression: a gzip request is read; a large response is compressed for a client that accepts it", async () => {
    const res = await grpc({ sendCompression: compressionGzip, compressMinBytes: 0 }).chat({ model: "big" });
    expect(res.message?.content).toHaveLength(4096);
    const r = await raw(CHAT, frame(chatBytes("big")), { "grpc-accept-encoding": "gzip" });
    expect(r.headers["grpc-encoding"]).toBe("gzip");
    expect(r.body[0]).toBe(1);
    const unknown = await raw(CHAT, frame(chatBytes("m"), 1), { "grpc-encoding": "snappy" });
    expect(unknown.trailers["grpc-status"]).toBe(String(Code.Unimplemented));
    expect(unknown.trailers["grpc-accept-encoding"]).toBe("gzip,br");
  });

  it("malformed, compressed without an encoding, oversized, missing or extra messages", async () => {
    const bad = await raw(CHAT, frame(Buffer.from([0xff, 0xff, 0xff])));
    expect(bad.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
    expect(String(bad.trailers["grpc-message"])).toMatch(/^malformed request message: parse binary/);
    const flagged = await raw(CHAT, frame(chatBytes("m"), 1));
    expect(flagged.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
    const big = await raw(CHAT, frame(Buffer.alloc(2048)));
    expect(big.trailers["grpc-status"]).toBe(String(Code.ResourceExhausted));
    expect(String(big.trailers["grpc-message"])).toContain("larger than configured readMaxBytes 1024");
    const none = await raw(CHAT, Buffer.alloc(0));
    expect(none.trailers["grpc-status"]).toBe(String(Code.Unimplemented));
    const two = await raw(CHAT, Buffer.concat([frame(chatBytes("m")), frame(chatBytes("m"))]));
    expect(two.trailers["grpc-status"]).toBe(String(Code.Unimplemented));
  });

  it("grpc-timeout: the context's signal aborts with DeadlineExceeded, and so does the call", async () => {
    const reason = new Promise((r) => {
      aborted = r;
    });
    // A raw client: it waits for the server's answer instead of resetting at its own deadline.
    const r = await raw(CHAT, frame(chatBytes("hang")), { "grpc-timeout": "100m" });
    expect(r.trailers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
    expect(ConnectError.from(await reason).code).toBe(Code.DeadlineExceeded);
    const err = await failure(grpc().chat({ model: "hang" }, { timeoutMs: 100 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    const badTimeout = await raw(CHAT, frame(chatBytes("m")), { "grpc-timeout": "soon" });
    expect(badTimeout.trailers["grpc-status"]).toBe(String(Code.InvalidArgument));
  });

  it("cancellation: a reset stream aborts the context's signal with Canceled", async () => {
    const reason = new Promise((r) => {
      aborted = r;
    });
    seen.signal = undefined;
    const s = h2connect(base);
    const st = s.request({
      ":method": "POST",
      ":path": CHAT,
      "content-type": "application/grpc",
      te: "trailers",
    });
    st.on("error", () => {});
    st.end(frame(chatBytes("hang")));
    // The call is being served once its handler holds the signal.
    await new Promise<void>((r) => {
      const poll = () => (seen.signal ? r() : setTimeout(poll, 5));
      poll();
    });
    st.close(constants.NGHTTP2_CANCEL);
    expect(ConnectError.from(await reason).code).toBe(Code.Canceled);
    s.close();
    expect(servers.inflight).toBe(0);
  });

  it("Connect, gRPC-Web and gRPC+JSON on the same port still go to connect-es", async () => {
    const opts = { baseUrl: base, httpVersion: "2" as const };
    const before = seen.interceptor;
    expect(
      (await createClient(RouterService, createConnectTransport(opts)).chat({ model: "m" })).message?.content,
    ).toBe("ok");
    expect(
      (await createClient(RouterService, createGrpcWebTransport(opts)).chat({ model: "m" })).message?.content,
    ).toBe("ok");
    const json = await grpc({ useBinaryFormat: false }).chat({ model: "m" });
    expect(json.message?.content).toBe("ok");
    expect(seen.interceptor).toBe(before + 3);
  });
});
