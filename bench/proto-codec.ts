/**
 * In-process CPU per gRPC chat call spent in protobuf (issue 19): the request's decode and
 * conversion (protobuf-es both sides), the ChatResponse's and a ChatStream's encode (with the 5-byte frame), protobuf-es
 * against the schema-compiled codec (src/api/transport/proto-encode.ts), interleaved A/B.
 *
 *   npx tsx bench/proto-codec.ts [rounds=5] [iterations=20000]
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { fromProtoChatRequest } from "../src/api/grpc/chat-request.js";
import { ChatResponseBuilder, toStreamResponse } from "../src/api/grpc/chat-responses.js";
import { envelope } from "../src/api/transport/grpc-messages.js";
import { frameEncoder } from "../src/api/transport/proto-encode.js";
import {
  ChatRequestSchema,
  ChatResponseSchema,
  ChatStreamResponseSchema,
} from "../src/gen/sovereign/v1/router_pb.js";
import type { RouterEvent } from "../src/routing/index.js";
import { MODEL, PROMPT } from "./lib/clients.js";

const rounds = Number(process.argv[2] ?? 5);
const n = Number(process.argv[3] ?? 20_000);

const reqBytes = toBinary(
  ChatRequestSchema,
  create(ChatRequestSchema, { model: MODEL, messages: [{ role: "user", content: PROMPT }] }),
);
const words =
  "The benchmark measured the router's overhead per request at five hundred requests a second".split(" ");
const events: RouterEvent[] = [
  {
    type: "route",
    decisionId: "0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6071",
    endpoint: { id: "sim/gpt-4o-mini", provider: "sim", model: "gpt-4o-mini" } as never,
    attempt: 1,
    unappliedParameters: [],
  },
  ...words.map((w, i) => ({
    type: "delta" as const,
    ...(i === 0 ? { role: "assistant" } : {}),
    content: `${w} `,
  })),
  {
    type: "finish",
    finishReason: "stop",
    usage: { promptTokens: 12, completionTokens: 15, costMicroUsd: 27 } as never,
  },
];
const chunks = events.map(toStreamResponse);
const encResp = frameEncoder(ChatResponseSchema);
const encChunk = frameEncoder(ChatStreamResponseSchema);

type Case = { name: string; a: () => unknown; b: () => unknown };
const cases: Case[] = [
  {
    name: "decode ChatRequest (protobuf-es; b: + fromProtoChatRequest)",
    a: () => fromBinary(ChatRequestSchema, reqBytes, { readUnknownFields: false }),
    b: () => fromProtoChatRequest(fromBinary(ChatRequestSchema, reqBytes), { requireMessages: true }),
  },
  {
    name: "encode ChatResponse (+frame)",
    a: () => envelope(toBinary(ChatResponseSchema, create(ChatResponseSchema, new Builder().build())), null),
    b: () => encResp(new Builder().build()),
  },
  {
    name: `encode ChatStream, ${chunks.length} messages (+frames)`,
    a: () => {
      for (const ev of events)
        envelope(
          toBinary(ChatStreamResponseSchema, create(ChatStreamResponseSchema, toStreamResponse(ev))),
          null,
        );
    },
    b: () => {
      for (const ev of events) encChunk(toStreamResponse(ev));
    },
  },
];
class Builder extends ChatResponseBuilder {
  constructor() {
    super();
    for (const e of events) this.add(e);
  }
}

function time(f: () => unknown): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / n;
}
const res: Record<string, { a: number[]; b: number[] }> = {};
for (const c of cases)
  for (let i = 0; i < 2000; i++) {
    c.a();
    c.b();
  }
for (let r = 0; r < rounds; r++) {
  for (const c of cases) {
    const e = res[c.name] ?? { a: [], b: [] };
    res[c.name] = e;
    if (r % 2 === 0) {
      e.a.push(time(c.a));
      e.b.push(time(c.b));
    } else {
      e.b.push(time(c.b));
      e.a.push(time(c.a));
    }
  }
}
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
for (const [name, { a, b }] of Object.entries(res))
  console.log(
    `${name}: protobuf-es ${med(a).toFixed(2)} µs, compiled ${med(b).toFixed(2)} µs (median of ${rounds})`,
  );
