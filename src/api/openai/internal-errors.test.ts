import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { createLogger } from "../../telemetry/index.js";
import { internalErrorInterceptor, internalErrorLog, toConnectError } from "../grpc/index.js";
import { createOpenAIHttpHandler, type OpenAIHttpDeps } from "./index.js";

/** A marker standing for request content that an error message might quote. */
const SECRET = "prompt-text-7f3a";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n").filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, report: internalErrorLog(createLogger("info", sink)) };
}

function failure(): RangeError {
  return new RangeError(`Maximum call stack size exceeded near "${SECRET}"`);
}

describe("unmapped errors: one log line each, class and stack, never the message", () => {
  it("Connect: a handler's throw, a mapped Internal and a failing stream are each logged once", async () => {
    const { lines, report } = capture();
    const transport = createRouterTransport(
      ({ service }) =>
        service(Health, {
          check(req) {
            if (req.service === "raw") throw failure();
            if (req.service === "mapped") throw toConnectError(failure());
            if (req.service === "denied") throw new ConnectError("no", Code.PermissionDenied);
            return { status: HealthCheckResponse_ServingStatus.SERVING };
          },
          async *watch() {
            yield { status: HealthCheckResponse_ServingStatus.SERVING };
            throw failure();
          },
        }),
      { router: { interceptors: [internalErrorInterceptor(report)] } },
    );
    const health = createClient(Health, transport);
    for (const service of ["raw", "mapped", "denied", "ok"]) await health.check({ service }).catch(() => {});
    await (async () => {
      for await (const _ of health.watch({})) {
        /* the first message, then the failure */
      }
    })().catch(() => {});

    expect(lines.map((l) => l.where)).toEqual([
      "grpc.health.v1.Health/Check",
      "grpc.health.v1.Health/Check",
      "grpc.health.v1.Health/Watch",
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({
        level: 50,
        errorClass: "RangeError",
        stack: expect.stringMatching(/^\s+at /),
      });
    }
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it("HTTP API: an error answered 500 is logged once; a 4xx is not", async () => {
    const { lines, report } = capture();
    const handler = createOpenAIHttpHandler({
      router: undefined as unknown as OpenAIHttpDeps["router"],
      catalog: undefined as unknown as OpenAIHttpDeps["catalog"],
      onInternalError: report,
      authenticate: async (req) => {
        if (req.headers.authorization === "Bearer ok") throw new ConnectError("nope", Code.Unauthenticated);
        throw failure();
      },
    });
    const server = createServer((req, res) => {
      if (!handler(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const broken = await fetch(`${url}/v1/models`);
      expect(broken.status).toBe(500);
      expect(JSON.stringify(await broken.json())).not.toContain(SECRET);
      const refused = await fetch(`${url}/v1/admin/byok/t/p`, { headers: { authorization: "Bearer ok" } });
      expect(refused.status).toBe(401);
    } finally {
      server.close();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ where: "GET /v1/models", errorClass: "RangeError" });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });
});
