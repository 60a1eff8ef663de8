import { request as httpRequest } from "node:http";
import { connect as h2connect } from "node:http2";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { LIMITS } from "../../src/config/limits.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../src/gen/grpc/health/v1/health_pb.js";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * Auth before body, black-box over sockets (issue 11, Medium 6): an RPC without a valid key is
 * refused from its headers, on both ports and every protocol, without its body being read.
 */
const UPLOADS = 25;
/** Just under the request limit, so only authentication can refuse it early. */
const UPLOAD_BYTES = LIMITS.requestBytes - 64 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x20);
const chat = { model: "sim/chat-small", region: "eu", messages: [{ role: "user" as const, content: "hi" }] };

/** Samples this process's RSS (server and clients live here) while `work` runs; the peak growth. */
async function peakRssGrowth(work: () => Promise<unknown>): Promise<number> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage.rss()) - before;
}

/** Resolves when `w` can take more data, or has closed. */
function drained(w: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      w.off("drain", done);
      w.off("close", done);
      resolve();
    };
    w.on("drain", done);
    w.on("close", done);
  });
}

/**
 * A Connect JSON upload of UPLOAD_BYTES on HTTP/1.1 without a key, written with backpressure
 * from one reused chunk (the client holds no 8 MB). Resolves with the status and body.
 */
function h1Upload(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      method: "POST",
      path: `/${RouterService.typeName}/Chat`,
      headers: { "content-type": "application/json", "content-length": UPLOAD_BYTES },
    });
    let answered = false;
    req.on("response", (res) => {
      answered = true;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
      });
      res.on("end", () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    void (async () => {
      for (let sent = 0; sent < UPLOAD_BYTES && !answered && !req.destroyed; sent += CHUNK.length) {
        const piece = CHUNK.subarray(0, Math.min(CHUNK.length, UPLOAD_BYTES - sent));
        if (!req.write(piece)) await drained(req);
      }
      if (!answered && !req.destroyed) req.end();
    })();
  });
}

/** The same as a gRPC call on the HTTP/2 port (one session each): resolves with grpc-status. */
function h2Upload(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on("error", () => {});
    const s = session.request({
      ":method": "POST",
      ":path": `/${RouterService.typeName}/Chat`,
      "content-type": "application/grpc",
      te: "trailers",
    });
    let status: string | undefined;
    const done = () => {
      session.destroy();
      if (status === undefined) reject(new Error("no grpc-status"));
      else resolve(status);
    };
    s.on("response", (h) => {
      status ??= h["grpc-status"] as string | undefined;
    });
    s.on("trailers", (h) => {
      status ??= h["grpc-status"] as string | undefined;
    });
    s.on("error", () => {});
    s.on("close", done);
    s.resume();
    void (async () => {
      const head = Buffer.alloc(5);
      head.writeUInt32BE(UPLOAD_BYTES - 5, 1);
      s.write(head);
      for (let sent = 5; sent < UPLOAD_BYTES && status === undefined && !s.closed; sent += CHUNK.length) {
        const piece = CHUNK.subarray(0, Math.min(CHUNK.length, UPLOAD_BYTES - sent));
        if (!s.write(piece)) await drained(s);
      }
      if (!s.closed) s.end();
    })();
  });
}

describe("auth before body (both ports, every protocol)", () => {
  let t: TestApp;
  let key: string;
  let auditorKey: string;
  beforeAll(async () => {
    t = await startTestApp({ auth: true });
    key = t.devKey!;
    auditorKey = (await createApiKey(t.app.db.db, { tenant: "default", roles: ["auditor"] })).token;
    await t.app.auth.refresh();
  });
  afterAll(async () => {
    await t?.close();
  });

  it(`HTTP/1.1: ${UPLOADS} unauthenticated ~8 MB Connect uploads get 401 unread; memory stays flat`, async () => {
    let results: { status: number; body: string }[] = [];
    const growth = await peakRssGrowth(async () => {
      results = await Promise.all(Array.from({ length: UPLOADS }, () => h1Upload(t.app.servers.httpPort)));
    });
    expect(growth).toBeLessThan(64 << 20);
    for (const r of results) {
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toMatchObject({
        code: "unauthenticated",
        message: expect.stringMatching(/missing API key/),
      });
    }
  });

  it(`HTTP/2: ${UPLOADS} unauthenticated ~8 MB gRPC uploads get Unauthenticated unread; memory stays flat`, async () => {
    let statuses: string[] = [];
    const growth = await peakRssGrowth(async () => {
      statuses = await Promise.all(Array.from({ length: UPLOADS }, () => h2Upload(t.app.servers.grpcPort)));
    });
    expect(growth).toBeLessThan(64 << 20);
    expect(statuses).toEqual(Array(UPLOADS).fill(String(Code.Unauthenticated)));
  });

  const transports: [string, (t: TestApp) => Transport][] = [
    ["Connect on HTTP/1.1", (t) => createConnectTransport({ baseUrl: t.app.httpUrl, httpVersion: "1.1" })],
    ["gRPC-Web on HTTP/1.1", (t) => createGrpcWebTransport({ baseUrl: t.app.httpUrl, httpVersion: "1.1" })],
    ["Connect on HTTP/2", (t) => createConnectTransport({ baseUrl: t.app.grpcUrl, httpVersion: "2" })],
    ["gRPC on HTTP/2", (t) => createGrpcTransport({ baseUrl: t.app.grpcUrl })],
    ["gRPC-Web on HTTP/2", (t) => createGrpcWebTransport({ baseUrl: t.app.grpcUrl, httpVersion: "2" })],
  ];
  for (const [name, transport] of transports) {
    it(`${name}: no key, a bad key, a wrong role are refused; a key works; probes stay public`, async () => {
      const router = createClient(RouterService, transport(t));
      const refused = async (call: Promise<unknown>) => {
        const err = await call.then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        return err && { code: err.code, message: err.rawMessage };
      };
      expect(await refused(router.chat(chat))).toMatchObject({
        code: Code.Unauthenticated,
        message: expect.stringMatching(/missing API key/),
      });
      const bad = { authorization: "Bearer sovr_000000000000_nope" };
      expect(await refused(router.chat(chat, { headers: bad }))).toMatchObject({
        code: Code.Unauthenticated,
      });
      const auditor = { authorization: `Bearer ${auditorKey}` };
      expect(await refused(router.chat(chat, { headers: auditor }))).toMatchObject({
        code: Code.PermissionDenied,
        message: expect.stringMatching(/requires role client/),
      });
      // Server streaming: the refusal arrives as the stream's status.
      const stream = async () => {
        for await (const _ of router.chatStream(chat, { headers: bad })) {
          /* none expected */
        }
      };
      expect(await refused(stream())).toMatchObject({ code: Code.Unauthenticated });
      const auth = { authorization: `Bearer ${key}` };
      const ok = await router.chat(chat, { headers: auth });
      expect(ok.route?.decisionId).toMatch(/^[0-9a-f-]{36}$/);
      let chunks = 0;
      for await (const _ of router.chatStream(chat, { headers: auth })) chunks++;
      expect(chunks).toBeGreaterThan(0);
      const health = await createClient(Health, transport(t)).check({});
      expect(health.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    });
  }
});
