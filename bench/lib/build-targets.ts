import * as grpc from "@grpc/grpc-js";
import { type Call, httpPool, httpStream, httpUnary, openAiBody } from "./clients.js";
import { H2Sessions, h2Chat, h2ChatStream, h2Health } from "./grpc-h2.js";
import { grpcChat, grpcChatStream, grpcClient, grpcHealth } from "./grpc-js-clients.js";
import { type PeerStarted, probeOpenAiRoute, type SovrStarted } from "./systems.js";
import { closePool, type Target, type TargetSkipped } from "./targets.js";

/**
 * The targets, each with its own connection(s). HTTP targets share one client implementation
 * (undici, keep-alive HTTP/1.1, JSON), so for them target − direct is the gateway alone; the
 * gRPC targets use a lean gRPC client over node:http2 (protobuf, grpc-h2.ts): a different
 * client, whose own cost is reported (client CPU per 1k) and bounded by the bare gRPC round
 * trip (Health/Check). Every connection is opened before the target is smoke-tested and warmed.
 */

const TIMEOUT_MS = 10_000;
const CHAT = "/v1/chat/completions";

export function directTargets(simUrl: string): Target[] {
  const u = httpPool(simUrl);
  const s = httpPool(simUrl);
  return [
    {
      id: "direct",
      label: "direct to simulator",
      kind: "unary",
      baseline: null,
      searchedAlone: true,
      system: "simulator",
      client: "undici HTTP/1.1 JSON",
      call: httpUnary(u, CHAT, {}),
      close: closePool(u),
    },
    {
      id: "direct-stream",
      label: "direct to simulator, streaming",
      kind: "stream",
      baseline: null,
      system: "simulator",
      client: "undici HTTP/1.1 SSE",
      call: httpStream(s, CHAT, {}),
      close: closePool(s),
    },
  ];
}

export async function sovrTargets(
  sovr: SovrStarted,
  prefix: string,
  opts: { health: boolean; stream: boolean; http: boolean; grpcJs?: boolean; label?: string },
): Promise<{ targets: Target[]; skipped: TargetSkipped[] }> {
  const db = opts.label ?? (prefix === "sovr" ? "" : " (Postgres)");
  const h = sovr.headers;
  const c1 = await H2Sessions.open(sovr.grpcAddress, GRPC_SESSIONS);
  const targets: Target[] = [
    {
      id: `${prefix}-grpc`,
      label: `sovr gRPC Chat${db}`,
      kind: "unary",
      baseline: "direct",
      system: sovr.name,
      client: CLIENT_H2,
      call: h2Chat(c1, h),
      close: () => c1.close(),
    },
  ];
  if (opts.stream) {
    const c2 = await H2Sessions.open(sovr.grpcAddress, GRPC_SESSIONS);
    targets.push({
      id: `${prefix}-grpc-stream`,
      label: `sovr gRPC ChatStream${db}`,
      kind: "stream",
      baseline: "direct-stream",
      system: sovr.name,
      client: `${CLIENT_H2}, server stream`,
      call: h2ChatStream(c2, h),
      close: () => c2.close(),
    });
  }
  if (opts.health) {
    const c3 = await H2Sessions.open(sovr.grpcAddress, GRPC_SESSIONS);
    targets.push({
      id: `${prefix}-grpc-health`,
      label: "gRPC round trip, no routing (Health/Check)",
      kind: "unary",
      baseline: "direct",
      reference: true,
      system: sovr.name,
      client: CLIENT_H2,
      call: h2Health(c3),
      close: () => c3.close(),
    });
  }
  if (opts.grpcJs) targets.push(...grpcJsTargets(sovr, prefix, opts));
  const skipped: TargetSkipped[] = [];
  if (opts.http) {
    const probe = await probeOpenAiRoute(sovr.httpUrl, openAiBody(false), sovr.headers);
    if (probe.ok) {
      const p1 = httpPool(sovr.httpUrl);
      const p2 = httpPool(sovr.httpUrl);
      targets.push(
        {
          id: `${prefix}-http`,
          label: `sovr OpenAI-compatible HTTP${db}`,
          kind: "unary",
          baseline: "direct",
          system: sovr.name,
          client: "undici HTTP/1.1 JSON",
          call: httpUnary(p1, CHAT, h),
          close: closePool(p1),
        },
        {
          id: `${prefix}-http-stream`,
          label: `sovr OpenAI-compatible HTTP, streaming${db}`,
          kind: "stream",
          baseline: "direct-stream",
          system: sovr.name,
          client: "undici HTTP/1.1 SSE",
          call: httpStream(p2, CHAT, h),
          close: closePool(p2),
        },
      );
    } else {
      const reason = `not available: POST /v1/chat/completions on the HTTP port → ${probe.detail}`;
      skipped.push(
        { id: `${prefix}-http`, label: "sovr OpenAI-compatible HTTP", reason },
        { id: `${prefix}-http-stream`, label: "sovr OpenAI-compatible HTTP, streaming", reason },
      );
    }
  }
  return { targets, skipped };
}

const CLIENT_H2 = "gRPC over node:http2, protobuf";
/**
 * HTTP/2 sessions per gRPC target. A gRPC channel usually holds one connection; more sessions
 * cost the server CPU per request at low rates (Health/Check at 100 req/s, noisy machine: ~1.5 ms
 * with 1 session, ~1.9 ms with 4), so the pool stays small.
 */
const GRPC_SESSIONS = 2;

/**
 * The same gRPC calls through @grpc/grpc-js, the bench's previous client (`--grpc-js`), measured
 * beside the node:http2 ones to show how much of a gRPC figure is the client's own cost.
 */
function grpcJsTargets(
  sovr: SovrStarted,
  prefix: string,
  opts: { health: boolean; stream: boolean },
): Target[] {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(sovr.headers)) md.set(k, v);
  const db = prefix === "sovr" ? "" : " (Postgres)";
  const calls: {
    id: string;
    label: string;
    kind: Target["kind"];
    baseline: string;
    call: (c: grpc.Client) => Call;
  }[] = [
    {
      id: "",
      label: `sovr gRPC Chat${db}`,
      kind: "unary",
      baseline: "direct",
      call: (c) => grpcChat(c, md, TIMEOUT_MS),
    },
  ];
  if (opts.stream)
    calls.push({
      id: "-stream",
      label: `sovr gRPC ChatStream${db}`,
      kind: "stream",
      baseline: "direct-stream",
      call: (c) => grpcChatStream(c, md, TIMEOUT_MS),
    });
  if (opts.health)
    calls.push({
      id: "-health",
      label: "gRPC round trip, no routing (Health/Check)",
      kind: "unary",
      baseline: "direct",
      call: (c) => grpcHealth(c, TIMEOUT_MS),
    });
  return calls.map((x) => {
    const c = grpcClient(sovr.grpcAddress);
    return {
      id: `${prefix}-grpc-js${x.id}`,
      label: `${x.label}, @grpc/grpc-js client`,
      kind: x.kind,
      baseline: x.baseline,
      reference: x.id === "-health",
      system: sovr.name,
      client: "@grpc/grpc-js (previous client)",
      call: x.call(c),
      close: () => c.close(),
    };
  });
}

export function peerTargets(peer: PeerStarted, label: string): Target[] {
  const p1 = httpPool(peer.url);
  const p2 = httpPool(peer.url);
  return [
    {
      id: peer.name,
      label,
      kind: "unary",
      baseline: "direct",
      system: peer.name,
      client: "undici HTTP/1.1 JSON",
      call: httpUnary(p1, peer.chatPath ?? CHAT, peer.headers),
      close: closePool(p1),
    },
    {
      id: `${peer.name}-stream`,
      label: `${label}, streaming`,
      kind: "stream",
      baseline: "direct-stream",
      system: peer.name,
      client: "undici HTTP/1.1 SSE",
      call: httpStream(p2, peer.chatPath ?? CHAT, peer.headers),
      close: closePool(p2),
    },
  ];
}

/** A few sequential calls; a target that cannot answer them is reported, not measured. */
export async function smokeTest(t: Target): Promise<string | undefined> {
  for (let i = 0; i < 3; i++) {
    try {
      await t.call(AbortSignal.timeout(TIMEOUT_MS));
    } catch (err) {
      return `smoke test failed: ${(err as Error).message}`.slice(0, 300);
    }
  }
  return undefined;
}
