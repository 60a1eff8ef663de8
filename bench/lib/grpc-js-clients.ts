import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import {
  ChatRequestSchema,
  ChatResponseSchema,
  ChatStreamResponseSchema,
} from "../../src/gen/sovereign/v1/router_pb.js";
import { type Call, CallError, MODEL, PROMPT } from "./clients.js";

/**
 * The previous gRPC load-generator client, @grpc/grpc-js, kept only for `bench/run.ts --grpc-js`
 * (measures it beside the lean node:http2 client of grpc-h2.ts, to show what the client costs).
 */

/** A raw @grpc/grpc-js channel (one HTTP/2 connection, kept alive) with protobuf-es messages. */
export function grpcClient(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure(), {
    "grpc.keepalive_time_ms": 30_000,
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
  });
}

const identity = (b: Buffer) => b;

function grpcError(err: grpc.ServiceError): CallError {
  return new CallError(`grpc ${grpc.status[err.code] ?? err.code}`, err.details ?? err.message);
}

function chatRequestBytes(): Buffer {
  return Buffer.from(
    toBinary(
      ChatRequestSchema,
      create(ChatRequestSchema, { model: MODEL, messages: [{ role: "user", content: PROMPT }] }),
    ),
  );
}

export function grpcChat(client: grpc.Client, metadata: grpc.Metadata, timeoutMs: number): Call {
  const req = chatRequestBytes();
  return (signal) =>
    new Promise<number>((resolve, reject) => {
      const call = client.makeUnaryRequest(
        "/sovereign.v1.RouterService/Chat",
        () => req,
        identity,
        req,
        metadata,
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          const done = performance.now();
          signal.removeEventListener("abort", cancel);
          if (err) return reject(grpcError(err));
          const msg = fromBinary(ChatResponseSchema, res!);
          if (!msg.message?.content) return reject(new CallError("bad body", "empty content"));
          resolve(done);
        },
      );
      const cancel = () => call.cancel();
      signal.addEventListener("abort", cancel, { once: true });
    });
}

export function grpcChatStream(client: grpc.Client, metadata: grpc.Metadata, timeoutMs: number): Call {
  const req = chatRequestBytes();
  return (signal) =>
    new Promise<number>((resolve, reject) => {
      const call = client.makeServerStreamRequest(
        "/sovereign.v1.RouterService/ChatStream",
        () => req,
        identity,
        req,
        metadata,
        { deadline: Date.now() + timeoutMs },
      );
      let first: number | undefined;
      let finished = false;
      const cancel = () => call.cancel();
      signal.addEventListener("abort", cancel, { once: true });
      call.on("data", (b: Buffer) => {
        const m = fromBinary(ChatStreamResponseSchema, b);
        if (first === undefined && m.event.case === "delta" && m.event.value.content)
          first = performance.now();
        if (m.event.case === "finish") finished = true;
      });
      call.on("error", (err: grpc.ServiceError) => {
        signal.removeEventListener("abort", cancel);
        reject(grpcError(err));
      });
      call.on("end", () => {
        signal.removeEventListener("abort", cancel);
        if (first === undefined) reject(new CallError("no content", "stream ended without a content chunk"));
        else if (!finished) reject(new CallError("truncated", "stream ended without finish"));
        else resolve(first);
      });
    });
}

/** grpc.health.v1.Health/Check: the gRPC round trip through sovr with no routing at all. */
export function grpcHealth(client: grpc.Client, timeoutMs: number): Call {
  const req = Buffer.from(toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, {})));
  return (signal) =>
    new Promise<number>((resolve, reject) => {
      const call = client.makeUnaryRequest(
        "/grpc.health.v1.Health/Check",
        () => req,
        identity,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          const done = performance.now();
          signal.removeEventListener("abort", cancel);
          if (err) return reject(grpcError(err));
          fromBinary(HealthCheckResponseSchema, res!);
          resolve(done);
        },
      );
      const cancel = () => call.cancel();
      signal.addEventListener("abort", cancel, { once: true });
    });
}
