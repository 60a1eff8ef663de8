/**
 * Traces and access lines (issue 18): one request per surface with a W3C `traceparent`, the
 * spans exported over OTLP/HTTP (protobuf) to an in-process receiver that decodes the real
 * ExportTraceServiceRequest (test/support/otlp-receiver.ts). The server span is the caller's
 * span's child; auth, policy, the durable append, each upstream attempt and the stream are the
 * server span's children; the decision id is an attribute; the simulator upstream (on
 * 127.0.0.1, so local) received a `traceparent` of the same trace, naming the attempt span.
 * Every request also wrote one access line at info, with ids and no content.
 */
import { randomBytes, randomUUID } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import * as grpc from "@grpc/grpc-js";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import type { TestApp } from "../support/app.js";
import { leaks } from "../support/canary.js";
import { collect, GrpcJsClient } from "../support/grpc.js";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../support/otlp-receiver.js";
import { ROUTING_SIMULATORS, startRoutingApp } from "../support/routing-app.js";

const SERVER = 2;
const CLIENT = 3;

function caller(): { traceId: string; spanId: string; header: string } {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
}

describe("traces: traceparent in, OTLP out, traceparent upstream; one access line per request", () => {
  let receiver: OtlpReceiver;
  let t: TestApp;
  const canary = `CANARY-${randomUUID()}`;
  const calls = { openai: caller(), anthropic: caller(), grpc: caller() };
  const decisionIds: Record<string, string> = {};
  let upstreamTraceparents: string[] = [];
  let accessLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    t = await startRoutingApp({
      auth: true,
      env: {
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: "sovr-under-test",
      },
    });
    const prompt = `Please repeat ${canary}`;

    const openai = new OpenAI({
      baseURL: `${t.app.httpUrl}/v1`,
      apiKey: t.devKey!,
      maxRetries: 0,
      defaultHeaders: { traceparent: calls.openai.header },
    });
    const { data, response } = await openai.chat.completions
      .create({
        model: "sim/chat-small",
        region: "eu",
        messages: [{ role: "user", content: prompt }],
        stream: true,
      } as never)
      .withResponse();
    for await (const _ of data as unknown as AsyncIterable<unknown>) {
      /* the whole stream */
    }
    decisionIds.openai = response.headers.get("x-sovr-decision-id")!;

    const anthropic = new Anthropic({
      baseURL: t.app.httpUrl,
      apiKey: t.devKey!,
      maxRetries: 0,
      defaultHeaders: { traceparent: calls.anthropic.header },
    });
    const msg = await anthropic.messages
      .create({ model: "sim/chat-small", max_tokens: 64, messages: [{ role: "user", content: prompt }] })
      .withResponse();
    decisionIds.anthropic = msg.response.headers.get("x-sovr-decision-id")!;

    const client = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`, { key: t.devKey! });
    const md = new grpc.Metadata();
    md.set("traceparent", calls.grpc.header);
    const events = await collect(
      client.serverStream(
        RouterService,
        RouterService.method.chatStream,
        { model: "sim/chat-small", region: "eu", messages: [{ role: "user", content: prompt }] },
        md,
      ),
    );
    client.close();
    const route = events.find((e) => e.event.case === "route");
    decisionIds.grpc = (route!.event.value as { decisionId: string }).decisionId;

    // Whichever simulator instance each plan chose (the Anthropic call names no region).
    upstreamTraceparents = ROUTING_SIMULATORS.flatMap((i) => [...t.simulator.stats(i).traceparents]);
    // Stopping flushes the batched spans to the receiver.
    await t.app.stop();
    accessLines = t.logs
      .flatMap((l) => l.split("\n"))
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "request");
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  const spansOf = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

  it.each(["openai", "anthropic", "grpc"] as const)(
    "%s: the server span is the caller's child, the parts its children",
    (surface) => {
      const { traceId, spanId } = calls[surface];
      const spans = spansOf(traceId);
      const server = spans.find((s) => s.kind === SERVER);
      expect(server, JSON.stringify(spans.map((s) => s.name))).toBeDefined();
      expect(server!.parentSpanId).toBe(spanId);
      expect(server!.resource["service.name"]).toBe("sovr-under-test");
      expect(server!.attributes["sovr.decision_id"]).toBe(decisionIds[surface]);
      const children = (name: string): ReceivedSpan[] =>
        spans.filter((s) => s.name === name && s.parentSpanId === server!.spanId);
      for (const name of ["sovr.auth", "sovr.policy", "sovr.append", "sovr.stream"])
        expect(children(name), name).toHaveLength(1);
      expect(children("sovr.append")[0]!.attributes["sovr.decision_id"]).toBe(decisionIds[surface]);
      expect(children("sovr.stream")[0]!.attributes["sovr.decision_id"]).toBe(decisionIds[surface]);
      const attempts = children("sovr.upstream.attempt");
      expect(attempts.length).toBeGreaterThanOrEqual(1);
      for (const a of attempts) {
        expect(a.kind).toBe(CLIENT);
        expect(a.attributes["sovr.decision_id"]).toBe(decisionIds[surface]);
      }
      // The upstream that answered got this trace, with the attempt span as its parent.
      const sent = upstreamTraceparents.filter((tp) => tp.split("-")[1] === traceId);
      expect(sent).toHaveLength(1);
      expect(attempts.map((a) => a.spanId)).toContain(sent[0]!.split("-")[2]);
    },
  );

  it("one access line per request, at info, with ids and without content", () => {
    const byDecision = (id: string) => accessLines.filter((l) => l.decisionId === id);
    const expected = {
      openai: { api: "openai", operation: "chat.completions", method: "POST" },
      anthropic: { api: "anthropic", operation: "messages", method: "POST" },
      grpc: { api: "grpc", operation: "sovereign.v1.RouterService/ChatStream", method: "POST" },
    };
    for (const surface of ["openai", "anthropic", "grpc"] as const) {
      const lines = byDecision(decisionIds[surface]!);
      expect(lines, surface).toHaveLength(1);
      const line = lines[0]!;
      expect(line).toMatchObject({
        ...expected[surface],
        level: 30,
        tenant: "default",
        model: "sim/chat-small",
        outcome: "ok",
        status: 200,
        traceId: calls[surface].traceId,
      });
      expect(line.keyId).toEqual(expect.any(String));
      expect(line.endpoint).toEqual(expect.stringMatching(/^sim-/));
      expect(line.latencyMs).toEqual(expect.any(Number));
      expect(String(line.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
  });

  it("the privacy canary is in no span (attributes, events, status, resource: every byte exported) nor log line", () => {
    expect(receiver.spans.length).toBeGreaterThan(10);
    expect(leaks(Buffer.concat(receiver.raw).toString("latin1"), canary)).toEqual([]);
    expect(leaks(JSON.stringify(receiver.spans), canary)).toEqual([]);
    expect(leaks(t.logs.join("\n"), canary)).toEqual([]);
  });
});

describe.each([
  { name: "tracing off (the default)", env: {} as Record<string, string> },
  { name: "tracing on, SOVR_TRACE_PROPAGATE_UPSTREAM=none", env: { SOVR_TRACE_PROPAGATE_UPSTREAM: "none" } },
])("$name: no traceparent goes upstream, not even the caller's", ({ env }) => {
  let receiver: OtlpReceiver;
  let t: TestApp;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const on = env.SOVR_TRACE_PROPAGATE_UPSTREAM !== undefined;
    t = await startRoutingApp({
      env: on
        ? { ...env, OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url }
        : env,
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("the upstream sees no traceparent; spans are exported only when tracing is on", async () => {
    const call = caller();
    const res = await fetch(`${t.app.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: call.header },
      body: JSON.stringify({
        model: "sim/chat-small",
        region: "eu",
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    expect(res.status).toBe(200);
    await res.text();
    // Whichever simulator instance the plan chose: region eu leaves sim-eu and sim-anthropic (and
    // sim-dead, which refuses connections), in an order of weighted chance.
    const upstreams = ROUTING_SIMULATORS.map((i) => t.simulator.stats(i));
    expect(upstreams.reduce((n, s) => n + s.requests, 0)).toBeGreaterThan(0);
    expect(upstreams.flatMap((s) => s.traceparents)).toEqual([]);
    await t.app.stop();
    const on = env.SOVR_TRACE_PROPAGATE_UPSTREAM !== undefined;
    expect(receiver.spans.some((s) => s.traceId === call.traceId)).toBe(on);
    const line = t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "request");
    expect(line?.traceId).toBe(on ? call.traceId : undefined);
  });
});
