/**
 * The privacy canary on the surfaces of the full API (issue 13): the canary rides in an image
 * (data URL and gRPC bytes), an audio part, a PDF, tool-call arguments, a tool result, the
 * upstream's answer (text and tool arguments), a Responses input and a Messages API image, and
 * embeddings inputs over HTTP and gRPC — succeeding, refused by validation (a data URL the
 * router will not take, an http image URL) and failing upstream. Afterwards the canary is in no
 * table, log, metric, error or export (test/support/canary.ts).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { appDatabases, startTestApp, type TestApp } from "../support/app.js";
import { expectNoCanaryInTables, expectNoCanaryOutside, leaks, newCanary } from "../support/canary.js";
import { collect, GrpcJsClient } from "../support/grpc.js";
import { type RecordingApp, startRecordingApp } from "../support/recording-app.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe.each(appDatabases)("no multimodal, tool or embedding content is kept (%s)", (database) => {
  const canary = newCanary();
  const errors: string[] = [];
  let rec: RecordingApp;
  let sim: TestApp;
  let simCatalog: string;

  /** POSTs JSON; keeps the body of any non-200 answer as an error the caller saw. */
  const post = async (t: TestApp, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${t.app.httpUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) errors.push(text, JSON.stringify([...res.headers]));
    return { status: res.status, text };
  };

  const png = `data:image/png;base64,${b64(`\x89PNG${canary}`)}`;
  const chatMessages = [
    {
      role: "user",
      content: [
        { type: "text", text: "Look" },
        { type: "image_url", image_url: { url: png } },
        { type: "input_audio", input_audio: { data: b64(`RIFF${canary}`), format: "wav" } },
        {
          type: "file",
          file: { file_data: `data:application/pdf;base64,${b64(`%PDF${canary}`)}`, filename: "a.pdf" },
        },
      ],
    },
    {
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "c1", type: "function", function: { name: "lookup", arguments: `{"q":"${canary}"}` } },
      ],
    },
    { role: "tool", tool_call_id: "c1", content: `found ${canary}` },
  ];
  const tools = [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }];

  beforeAll(async () => {
    rec = await startRecordingApp({ database });
    const t = rec.t;
    const answer = {
      choices: [
        {
          content: `the answer is ${canary}`,
          toolCalls: [{ id: "c2", name: "lookup", arguments: `{"q":"${canary}"}` }],
        },
      ],
    };
    // Chat completions, whole and streamed, with every part type and tool traffic both ways.
    for (const stream of [false, true]) {
      rec.upstream.reply(answer);
      const r = await post(t, "/v1/chat/completions", {
        model: "rec/chat",
        messages: chatMessages,
        tools,
        stream,
      });
      expect(r.status).toBe(200);
      expect(r.text).toContain(canary);
    }
    // Responses API: an image and an earlier tool call's output.
    rec.upstream.reply(answer);
    expect(
      (
        await post(t, "/v1/responses", {
          model: "rec/chat",
          tools: [{ type: "function", name: "lookup", parameters: { type: "object" }, strict: false }],
          input: [
            { role: "user", content: [{ type: "input_image", image_url: png, detail: "auto" }] },
            { type: "function_call", call_id: "c1", name: "lookup", arguments: `{"q":"${canary}"}` },
            { type: "function_call_output", call_id: "c1", output: `found ${canary}` },
          ],
        })
      ).status,
    ).toBe(200);
    // Anthropic Messages API: an image and a tool result.
    rec.upstream.reply({ choices: [{ content: `the answer is ${canary}` }] });
    expect(
      (
        await post(t, "/v1/messages", {
          model: "rec/chat",
          max_tokens: 16,
          messages: [
            {
              role: "user",
              content: [
                {
                  type: "image",
                  source: { type: "base64", media_type: "image/png", data: b64(`\x89PNG${canary}`) },
                },
                { type: "text", text: "Look" },
              ],
            },
          ],
        })
      ).status,
    ).toBe(200);
    // gRPC: image bytes in a part.
    const grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    try {
      rec.upstream.reply(answer);
      await collect(
        grpc.serverStream(RouterService, RouterService.method.chatStream, {
          model: "rec/chat",
          messages: [
            {
              role: "user",
              parts: [
                { part: { case: "text", value: "Look" } },
                {
                  part: {
                    case: "image",
                    value: {
                      source: { case: "data", value: Buffer.from(`\x89PNG${canary}`) },
                      mediaType: "image/png",
                    },
                  },
                },
              ],
            },
          ],
        }),
      );
    } finally {
      grpc.close();
    }
    // Refused before anything leaves: an http image URL and a data URL that is not base64, both
    // carrying the canary; the error must not echo them.
    for (const url of [`http://example.com/${canary}.png`, `data:image/png;base64,!!${canary}!!`]) {
      const r = await post(t, "/v1/chat/completions", {
        model: "rec/chat",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }],
      });
      expect(r.status).toBe(400);
    }
    // Failing upstream: the answer never comes.
    rec.upstream.reply({ status: 500 });
    expect(
      (await post(t, "/v1/chat/completions", { model: "rec/chat", messages: chatMessages, tools })).status,
    ).not.toBe(200);
    await t.app.audit.drain();

    // Embeddings, on the simulator's embedding endpoints (HTTP and gRPC), served and refused.
    simCatalog = await mkdtemp(join(tmpdir(), "sovr-privacy-embed-"));
    await writeFile(
      join(simCatalog, "simulator.yaml"),
      await readFile(join(import.meta.dirname, "../../catalog/simulator.yaml"), "utf8"),
    );
    sim = await startTestApp({ database, catalogDir: simCatalog });
    const input = [`embed ${canary}`, `second ${canary}`];
    expect((await post(sim, "/v1/embeddings", { model: "sim/embed-small", input })).status).toBe(200);
    expect(
      (await post(sim, "/v1/embeddings", { model: "sim/embed-small", input, region: "antarctica" })).status,
    ).toBe(403);
    const g = new GrpcJsClient(`127.0.0.1:${sim.app.servers.grpcPort}`);
    try {
      const res = await g.unary(RouterService, RouterService.method.embed, {
        model: "sim/embed-small",
        input,
      });
      expect(res.embeddings).toHaveLength(2);
    } finally {
      g.close();
    }
    await sim.app.audit.drain();
  }, 120_000);

  afterAll(async () => {
    await rec?.close();
    await sim?.close();
    if (simCatalog) await rm(simCatalog, { recursive: true, force: true });
  });

  it("the content really went upstream (so its absence below means something)", () => {
    const sent = JSON.stringify(rec.upstream.requests.map((r) => r.body));
    expect(leaks(sent, canary).length).toBeGreaterThan(0);
    expect(rec.upstream.requests.length).toBeGreaterThanOrEqual(6);
    expect(errors.length).toBeGreaterThanOrEqual(4);
  });

  it("no table, log, metric, error or export holds it: chat, responses, messages and gRPC parts", async () => {
    await expectNoCanaryInTables(rec.t, canary);
    await expectNoCanaryOutside(rec.t, canary, errors);
  });

  it("nor for embeddings", async () => {
    await expectNoCanaryInTables(sim, canary);
    await expectNoCanaryOutside(sim, canary, errors);
  });
});
