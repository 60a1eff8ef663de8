import { connect } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromProtoChatRequest } from "../../src/api/grpc/chat-request.js";
import { InvalidFieldError } from "../../src/api/grpc/errors.js";
import { fromOpenAIChatBody } from "../../src/api/openai/chat-body.js";
import { DEFAULT_REQUEST_LIMITS, LIMITS } from "../../src/config/limits.js";
import { CatalogService } from "../../src/gen/sovereign/v1/catalog_pb.js";
import { ChatRequestSchema, RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";
import { GrpcJsClient } from "../support/grpc.js";

/** The field an input is refused for (InvalidFieldError), or "ok". */
function refusedField(fn: () => unknown): string {
  try {
    fn();
    return "ok";
  } catch (err) {
    if (err instanceof InvalidFieldError) return err.field;
    throw err;
  }
}

const user = { role: "user", content: "hi" };
const openai = (extra: Record<string, unknown>) => () =>
  fromOpenAIChatBody({ model: "sim/chat-small", messages: [user], ...extra });
const proto = (extra: Record<string, unknown>) => () =>
  fromProtoChatRequest(create(ChatRequestSchema, { model: "sim/chat-small", messages: [user], ...extra }), {
    requireMessages: true,
  });

describe("input limits, one module for both APIs (cases the fuzzer and review found)", () => {
  const toolCall = (args: string) => ({
    id: "c1",
    type: "function",
    function: { name: "f", arguments: args },
  });

  it("bounds tool calls carried by messages: count, id, arguments", () => {
    const many = Array.from({ length: LIMITS.toolCalls + 1 }, () => toolCall("{}"));
    expect(refusedField(openai({ messages: [{ role: "assistant", content: "", tool_calls: many }] }))).toBe(
      "messages[0].tool_calls",
    );
    const big = "x".repeat(LIMITS.toolArgumentsBytes + 1);
    expect(
      refusedField(openai({ messages: [{ role: "assistant", content: "", tool_calls: [toolCall(big)] }] })),
    ).toBe("messages[0].tool_calls[0].function.arguments");
    expect(
      refusedField(
        proto({
          messages: [
            {
              role: "assistant",
              toolCalls: [
                { id: "x".repeat(LIMITS.idLength + 1), functionName: "f", functionArguments: "{}" },
              ],
            },
          ],
        }),
      ),
    ).toBe("messages[0].tool_calls[0].id");
    expect(
      refusedField(
        openai({ messages: [{ role: "tool", content: "r", tool_call_id: "x".repeat(LIMITS.idLength + 1) }] }),
      ),
    ).toBe("messages[0].tool_call_id");
  });

  it("bounds tool descriptions and checks tool_choice against the declared tools", () => {
    const tool = (description: string) => ({ type: "function", function: { name: "lookup", description } });
    expect(refusedField(openai({ tools: [tool("d".repeat(LIMITS.descriptionLength + 1))] }))).toBe(
      "tools[0].function.description",
    );
    expect(refusedField(openai({ tools: [tool("")], tool_choice: "auto" }))).toBe("ok");
    expect(
      refusedField(
        openai({ tools: [tool("")], tool_choice: { type: "function", function: { name: "lookup" } } }),
      ),
    ).toBe("ok");
    expect(refusedField(openai({ tool_choice: "sometimes" }))).toBe("tool_choice");
    expect(
      refusedField(
        openai({ tools: [tool("")], tool_choice: { type: "function", function: { name: "other" } } }),
      ),
    ).toBe("tool_choice");
    expect(refusedField(proto({ toolChoice: "maybe" }))).toBe("tool_choice");
    expect(refusedField(proto({ toolChoice: "required" }))).toBe("ok");
  });

  it("refuses enum numbers the proto does not declare instead of ignoring them", () => {
    expect(refusedField(proto({ provider: { dataCollection: 7 } }))).toBe("provider.data_collection");
    expect(refusedField(proto({ provider: { sort: { by: 1, partition: 9 } } }))).toBe(
      "provider.sort.partition",
    );
    expect(refusedField(proto({ provider: { sort: { by: 9 } } }))).toBe("provider.sort.by");
    expect(refusedField(proto({ provider: { dataCollection: 2, sort: { by: 1, partition: 2 } } }))).toBe(
      "ok",
    );
    expect(refusedField(openai({ provider: { data_collection: "sometimes" } }))).toBe(
      "provider.data_collection",
    );
  });

  it("refuses seeds beyond ±2^53 (they would be rounded) and text that is not Unicode in recorded fields", () => {
    expect(refusedField(proto({ seed: 2n ** 60n }))).toBe("seed");
    expect(refusedField(proto({ seed: -42n }))).toBe("ok");
    expect(refusedField(openai({ metadata: { team: "a\ud800b" } }))).toBe("labels.team");
    expect(refusedField(proto({ labels: { "\udc00": "x" } }))).toBe("labels.\udc00");
    expect(refusedField(proto({ workload: "w\ud83d" }))).toBe("workload");
    expect(refusedField(openai({ metadata: { team: "🙂 ok" } }))).toBe("ok");
  });
});

describe("request size on both ports", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });
  const huge = {
    model: "sim/chat-small",
    // Over the default SOVR_MAX_REQUEST_BYTES, which both ports apply.
    messages: [{ role: "user", content: "x".repeat(DEFAULT_REQUEST_LIMITS.requestBytes) }],
  };

  it("gRPC: a message over the limit is ResourceExhausted, read no further", async () => {
    const client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, {
      options: { "grpc.max_send_message_length": -1 },
    });
    const err = (await client
      .unary(RouterService, RouterService.method.chat, huge)
      .catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/larger than configured readMaxBytes 33554432/);
    client.close();
  });

  it("Connect on HTTP/1.1: a declared body over the limit is 413, JSON or binary", async () => {
    for (const [type, body] of [
      ["application/json", JSON.stringify(huge)],
      ["application/proto", Buffer.from(toBinary(ChatRequestSchema, create(ChatRequestSchema, huge)))],
    ] as const) {
      const res = await fetch(`${t.app.httpUrl}/sovereign.v1.RouterService/Chat`, {
        method: "POST",
        headers: { "content-type": type },
        body,
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({ code: "resource_exhausted" });
    }
  });

  it("HTTP API: a body over the limit is 413", async () => {
    const res = await fetch(`${t.app.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // The HTTP API's own limit (SOVR_MAX_REQUEST_BYTES), sized for multimodal bodies.
      body: JSON.stringify({
        ...huge,
        messages: [{ role: "user", content: "x".repeat(DEFAULT_REQUEST_LIMITS.requestBytes) }],
      }),
    });
    expect(res.status).toBe(413);
  });

  it("undecodable protobuf is InvalidArgument on every protocol, not Internal", async () => {
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]);
    const client = new grpc.Client(`127.0.0.1:${t.app.servers.grpcPort}`, grpc.credentials.createInsecure());
    const raw = (b: Buffer) => b;
    const code = await new Promise<grpc.status>((resolve) =>
      client.makeUnaryRequest(`/${RouterService.typeName}/Chat`, raw, raw, garbage, (e) =>
        resolve(e ? e.code : grpc.status.OK),
      ),
    );
    expect(code).toBe(grpc.status.INVALID_ARGUMENT);
    client.close();

    const unary = await fetch(`${t.app.httpUrl}/sovereign.v1.RouterService/Chat`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: garbage,
    });
    expect(unary.status).toBe(400);
    expect(await unary.json()).toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/malformed request message/),
    });

    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, garbage.length]), garbage]);
    const stream = await fetch(`${t.app.httpUrl}/sovereign.v1.RouterService/ChatStream`, {
      method: "POST",
      headers: { "content-type": "application/connect+proto" },
      body: frame,
    });
    expect(Buffer.from(await stream.arrayBuffer()).toString("latin1")).toMatch(/"code":"invalid_argument"/);

    const web = await fetch(`${t.app.httpUrl}/sovereign.v1.RouterService/ChatStream`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto" },
      body: frame,
    });
    const text =
      Buffer.from(await web.arrayBuffer()).toString("latin1") + (web.headers.get("grpc-status") ?? "");
    expect(text).toMatch(/grpc-status: ?3|^3$/m);
  });

  it("JSON lone surrogates get a status on gRPC and gRPC-Web instead of a hung call (fuzz seed 26623696)", async () => {
    const session = connect(`http://127.0.0.1:${t.app.servers.grpcPort}`);
    const errors: string[] = [];
    const consoleError = console.error;
    console.error = (...a: unknown[]) => errors.push(a.map(String).join(" "));
    const cases = [
      ["Chat", '{"model":"sim/chat-small","seed":"\\ud800"}', /ChatRequest\.seed/],
      ["Chat", '{"model":"sim/chat-small","maxTokens":"1\\udfff"}', /ChatRequest\.max_tokens/],
      ["Chat", '{"model":"x","provider":{"sort":"\\udbff"}}', /sovereign\.v1\.Sort/],
      ["Chat", '{"model":"\\ud800","messages":[{"role":"user","content":"x"}]}', /^model: /],
      [
        "Explain",
        '{"request":{"model":"sim/chat-small","messages":[{"role":"\\udc00"}]}}',
        /messages\[0\]\.role/,
      ],
    ] as const;
    try {
      for (const type of ["application/grpc+json", "application/grpc-web+json"]) {
        for (const [method, json, message] of cases) {
          const payload = Buffer.from(json);
          const head = Buffer.alloc(5);
          head.writeUInt32BE(payload.length, 1);
          const out = await new Promise<string>((resolve, reject) => {
            const s = session.request({
              ":method": "POST",
              ":path": `/${RouterService.typeName}/${method}`,
              "content-type": type,
              te: "trailers",
            });
            let text = "";
            s.setTimeout(3000, () => reject(new Error(`${type} ${json}: no answer in 3 s`)));
            s.on("trailers", (h) => {
              text += `grpc-status: ${h["grpc-status"]}\r\ngrpc-message: ${h["grpc-message"]}`;
            });
            s.on("data", (d: Buffer) => {
              text += d.subarray(5).toString("latin1");
            });
            s.on("close", () => resolve(text));
            s.end(Buffer.concat([head, payload]));
          });
          const status = /grpc-status: ?(\d+)/.exec(out)?.[1];
          const text = decodeURIComponent(/grpc-message: ?(.*?)\r?$/m.exec(out)?.[1] ?? "");
          expect(status, `${type} ${json}`).toBe("3");
          expect(text, `${type} ${json}`).toMatch(message);
        }
      }
    } finally {
      console.error = consoleError;
      session.close();
    }
    expect(errors).toEqual([]);
  });

  it("50,000-deep JSON in tool parameters is 400 / InvalidArgument naming the field, never Internal, on every API", async () => {
    const deep = `${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`;
    const deepArrays = `${"[".repeat(50_000)}${"]".repeat(50_000)}`;
    const field = "tools[0].function.parameters";
    const before = internalErrorLines(t);

    // HTTP API: the body is written by hand (JSON.stringify of such a value would overflow here).
    const body = `{"model":"sim/chat-small","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${deep}}}]}`;
    const res = await fetch(`${t.app.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: {
        type: "invalid_request_error",
        param: field,
        message: expect.stringMatching(/nested deeper than 64 levels/),
      },
    });

    // gRPC and Connect: the schema travels JSON-encoded in parameters_json.
    const request = (parametersJson: string) => ({
      model: "sim/chat-small",
      messages: [user],
      tools: [{ type: "function", functionName: "f", parametersJson }],
    });
    const client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    for (const json of [deep, deepArrays]) {
      const err = (await client
        .unary(RouterService, RouterService.method.chat, request(json))
        .catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      // Named as the proto names it.
      expect(err.details).toContain("tools[0].parameters_json: nested deeper than 64 levels");
    }
    client.close();
    const connectRes = await fetch(`${t.app.httpUrl}/sovereign.v1.RouterService/Chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(request(deepArrays)),
    });
    expect(connectRes.status).toBe(400);
    expect(await connectRes.json()).toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("tools[0].parameters_json: nested deeper than 64 levels"),
    });
    expect(internalErrorLines(t)).toBe(before);
  });
});

/** Log lines of errors answered Internal/500 so far (each such error gets exactly one). */
function internalErrorLines(t: TestApp): number {
  return t.logs.filter((l) => l.includes("internal error: unmapped failure")).length;
}

describe("bad catalog YAML and URL encoding (operator and admin inputs)", () => {
  let t: TestApp;
  let auth: { authorization: string };
  beforeAll(async () => {
    t = await startTestApp({ auth: true });
    auth = { authorization: `Bearer ${t.devKey}` };
  });
  afterAll(async () => {
    await t?.close();
  });

  async function applyCatalog(
    content: string,
  ): Promise<{ status: number; body: { code?: string; message?: string } }> {
    const res = await fetch(`${t.app.httpUrl}/${CatalogService.typeName}/ApplyCatalog`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ files: [{ name: "bad.yaml", content }] }),
    });
    return { status: res.status, body: (await res.json()) as { code?: string; message?: string } };
  }

  it("ApplyCatalog: a YAML alias bomb is InvalidArgument naming file and cause", async () => {
    const before = internalErrorLines(t);
    const laughs = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    const bomb = [
      `provider: sim-x\n${laughs[0]}: &${laughs[0]} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`,
      ...laughs.slice(1).map((l, i) => `${l}: &${l} [${Array(9).fill(`*${laughs[i]}`).join(",")}]`),
    ].join("\n");
    expect(await applyCatalog(bomb)).toMatchObject({
      status: 400,
      body: {
        code: "invalid_argument",
        message: expect.stringMatching(/bad\.yaml: YAML aliases: .*at most 100 alias expansions/),
      },
    });
    expect(internalErrorLines(t)).toBe(before);
  });

  it("ApplyCatalog: 20,000-deep YAML (flow, block, compact) is InvalidArgument naming file, line and depth", async () => {
    const before = internalErrorLines(t);
    const flow = `provider: sim-x\nendpoints: ${"[".repeat(20_000)}${"]".repeat(20_000)}\n`;
    const flowMaps = `provider: sim-x\nendpoints: ${"{a: ".repeat(20_000)}1${"}".repeat(20_000)}\n`;
    let block = "provider: sim-x\nendpoints:\n";
    for (let i = 1; i <= 2000; i++) block += `${" ".repeat(i)}k:\n`;
    const compact = `provider: sim-x\nendpoints:\n${"- ".repeat(20_000)}x\n`;
    for (const content of [flow, flowMaps, block, compact]) {
      const { status, body } = await applyCatalog(content);
      expect(status, content.slice(0, 40)).toBe(400);
      expect(body).toMatchObject({
        code: "invalid_argument",
        message: expect.stringMatching(/bad\.yaml:\d+: YAML nested deeper than 64 levels/),
      });
    }
    expect(internalErrorLines(t)).toBe(before);
  });

  it("BYOK admin path: bad %-encoding is 400 naming the segment, never 500", async () => {
    const before = internalErrorLines(t);
    for (const [method, path, param] of [
      ["GET", "/v1/admin/byok/%zz", "tenant"],
      ["PUT", "/v1/admin/byok/default/%E0%A4%A", "provider"],
      ["DELETE", "/v1/admin/byok/%ff/openai", "tenant"],
    ] as const) {
      const res = await fetch(`${t.app.httpUrl}${path}`, {
        method,
        headers: { "content-type": "application/json", ...auth },
        body: method === "PUT" ? JSON.stringify({ key: "k" }) : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(await res.json()).toMatchObject({
        error: { type: "invalid_request_error", param, message: expect.stringMatching(/bad %-encoding/) },
      });
    }
    expect(internalErrorLines(t)).toBe(before);
  });
});
