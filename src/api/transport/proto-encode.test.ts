import { create, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { randomMessage as message } from "../../../test/support/proto-random.js";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";
import { file_sovereign_v1_audit } from "../../gen/sovereign/v1/audit_pb.js";
import { file_sovereign_v1_budget } from "../../gen/sovereign/v1/budget_pb.js";
import { file_sovereign_v1_byok } from "../../gen/sovereign/v1/byok_pb.js";
import { file_sovereign_v1_catalog } from "../../gen/sovereign/v1/catalog_pb.js";
import { file_sovereign_v1_keys } from "../../gen/sovereign/v1/keys_pb.js";
import {
  ChatRequestSchema,
  ChatResponseSchema,
  ChatStreamResponseSchema,
  file_sovereign_v1_router,
} from "../../gen/sovereign/v1/router_pb.js";
import { file_sovereign_v1_usage } from "../../gen/sovereign/v1/usage_pb.js";
import { frameEncoder } from "./proto-encode.js";

/** Differential: frameEncoder against protobuf-es's create + toBinary and the gRPC frame. */

function reference(schema: DescMessage, init: unknown): { bytes?: string; error?: string } {
  try {
    const d = toBinary(schema, create(schema, init as never));
    const out = Buffer.alloc(5 + d.byteLength);
    out.writeUInt32BE(d.byteLength, 1);
    out.set(d, 5);
    return { bytes: out.toString("hex") };
  } catch (e) {
    return { error: String(e) };
  }
}

function ours(schema: DescMessage, init: unknown): { bytes?: string; error?: string } {
  try {
    return { bytes: Buffer.from(frameEncoder(schema)(init)).toString("hex") };
  } catch (e) {
    return { error: String(e) };
  }
}

const FILES = [
  file_sovereign_v1_router,
  file_sovereign_v1_audit,
  file_sovereign_v1_budget,
  file_sovereign_v1_byok,
  file_sovereign_v1_catalog,
  file_sovereign_v1_keys,
  file_sovereign_v1_usage,
  file_grpc_health_v1_health,
];

describe("frameEncoder", () => {
  it("encodes the chat responses and requests as protobuf-es does (random messages)", () => {
    for (const schema of [ChatResponseSchema, ChatStreamResponseSchema, ChatRequestSchema])
      for (let i = 0; i < 3000; i++) {
        const init = message(schema);
        expect(ours(schema, init)).toEqual(reference(schema, init));
      }
  });

  it("encodes every message of the served files (sovereign.v1, grpc.health.v1) as protobuf-es does", () => {
    for (const file of FILES)
      for (const schema of file.messages)
        for (let i = 0; i < 200; i++) {
          const init = message(schema);
          expect(ours(schema, init)).toEqual(reference(schema, init));
        }
  });

  it("keeps a message's unknown fields, as protobuf-es writes them", () => {
    const m = create(ChatResponseSchema, { finishReason: "stop" });
    m.$unknown = [{ no: 99, wireType: 0, data: Uint8Array.of(5) }];
    expect(ours(ChatResponseSchema, m)).toEqual(reference(ChatResponseSchema, m));
  });

  it("gives values of the wrong type to protobuf-es: the same bytes or the same error", () => {
    const odd: unknown[] = [
      { finishReason: 5 },
      { usage: { costMicroUsd: "12" } },
      { usage: { promptTokens: -1 } },
      { usage: { promptTokens: 1.5 } },
      { choices: [null] },
      { choices: {} },
      { route: { attempt: 2 ** 33 } },
      { message: { toolCalls: [{ id: 7 }] } },
      { usage: { costMicroUsd: 2n ** 70n } },
      { $typeName: "other.Type", finishReason: "x" },
    ];
    for (const init of odd)
      expect(ours(ChatResponseSchema, init)).toEqual(reference(ChatResponseSchema, init));
    const ev: unknown[] = [
      { event: { case: "route", value: null } },
      { event: { case: "nope", value: 1 } },
      { event: null },
    ];
    for (const init of ev)
      expect(ours(ChatStreamResponseSchema, init)).toEqual(reference(ChatStreamResponseSchema, init));
  });
});
