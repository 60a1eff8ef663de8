import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { accessLogged } from "./access-log.js";
import { createLogger } from "./logger.js";
import { TRACING_OFF } from "./tracing.js";

/** A real HTTP server whose handler is wrapped by accessLogged; the access lines it wrote. */
async function serve(
  level: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; lines: Record<string, unknown>[]; close(): Promise<void> }> {
  const lines: Record<string, unknown>[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createLogger(level, out, "json");
  const server = createServer(accessLogged(handler as never, logger, TRACING_OFF) as never);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    lines,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let open: { close(): Promise<void> } | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function lineOf(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  path = "/v1/chat/completions",
): Promise<Record<string, unknown>> {
  const s = await serve("info", handler);
  open = s;
  await (await fetch(`${s.url}${path}`, { method: "POST", body: "{}" })).text();
  for (let i = 0; i < 100 && s.lines.length === 0; i++) await new Promise((r) => setImmediate(r));
  expect(s.lines).toHaveLength(1);
  return s.lines[0]!;
}

describe("access line", () => {
  it("reads the decision id and endpoint from the headers passed to writeHead", async () => {
    const line = await lineOf((_req, res) => {
      res.writeHead(200, {
        "content-type": "application/json",
        "x-sovr-decision-id": "d-1",
        "x-sovr-endpoint": "e-1",
      });
      res.end("{}");
    });
    expect(line).toMatchObject({
      msg: "request",
      api: "openai",
      operation: "chat.completions",
      status: 200,
      outcome: "ok",
      decisionId: "d-1",
      endpoint: "e-1",
    });
  });

  it("with a status message, and headers set before writeHead (writeHead's own win)", async () => {
    const line = await lineOf((_req, res) => {
      res.setHeader("x-sovr-endpoint", "set-before");
      res.setHeader("x-sovr-decision-id", "overridden");
      res.writeHead(403, "Forbidden", { "x-sovr-decision-id": "d-2" });
      res.end();
    });
    expect(line).toMatchObject({
      status: 403,
      outcome: "refused",
      decisionId: "d-2",
      endpoint: "set-before",
    });
  });

  it("from the response's own headers when writeHead is not called", async () => {
    const line = await lineOf((_req, res) => {
      res.statusCode = 503;
      res.setHeader("x-sovr-decision-id", "d-3");
      res.end();
    });
    expect(line).toMatchObject({ status: 503, outcome: "error", decisionId: "d-3" });
    expect(line.endpoint).toBeUndefined();
  });

  it("one operation for every BYOK path: the tenant and provider in it are not labels", async () => {
    const ok = (_req: IncomingMessage, res: ServerResponse) => res.end();
    for (const path of ["/v1/admin/byok", "/v1/admin/byok/t-a/sim-us", "/v1/admin/byok/t-b/other"]) {
      const line = await lineOf(ok, path);
      expect(line).toMatchObject({ api: "openai", operation: "admin.byok" });
      await open?.close();
      open = undefined;
    }
    // Not a prefix match without the slash: another path stays unlabelled.
    expect((await lineOf(ok, "/v1/admin/byokx")).operation).toBeUndefined();
  });

  it("the gRPC status from the trailers", async () => {
    const line = await lineOf((_req, res) => {
      res.writeHead(200, { "content-type": "application/grpc-web+proto" });
      res.addTrailers({ "grpc-status": "7" });
      res.end();
    }, "/sovereign.v1.RouterService/Chat");
    expect(line).toMatchObject({
      api: "connect",
      operation: "sovereign.v1.RouterService/Chat",
      grpcStatus: 7,
      outcome: "error",
    });
  });

  it("none at warn", async () => {
    const s = await serve("warn", (_req, res) => {
      res.writeHead(200, { "x-sovr-decision-id": "d-4" });
      res.end();
    });
    open = s;
    await (await fetch(`${s.url}/v1/chat/completions`, { method: "POST", body: "{}" })).text();
    expect(s.lines).toEqual([]);
  });
});
