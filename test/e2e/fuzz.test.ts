import { connect as http2Connect } from "node:http2";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "../../src/config/limits.js";
import { ChatRequestSchema, RouterService } from "../../src/gen/sovereign/v1/router_pb.js";
import { startTestApp, type TestApp } from "../support/app.js";

/**
 * Fuzzes the three request surfaces with random and mutated requests — structured mutations of
 * valid requests, type-correct protobuf with out-of-range values, bit-flipped protobuf, raw
 * random bytes, broken gRPC envelopes, invalid JSON — and requires that the server never answers
 * Internal/Unknown (gRPC) or 500 (HTTP), never leaves a rejection unhandled, keeps serving and
 * keeps its memory. The seed is printed; `SOVR_FUZZ_SEED=<n>` replays a run, `SOVR_FUZZ_N=<n>`
 * scales it (default 10,800 requests).
 */
const SEED = Number(process.env.SOVR_FUZZ_SEED ?? Date.now() % 2 ** 31);
const SCALE = Number(process.env.SOVR_FUZZ_N ?? 10_800) / 10_800;
const CONCURRENCY = 24;

// A real collection before each RSS reading, so the numbers compare live memory, not GC timing.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const settledRss = () => {
  gc();
  gc();
  return process.memoryUsage().rss;
};
/** The main thread's live JS heap after a real collection (the database worker is not in it). */
const settledHeap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

// ---- deterministic randomness (mulberry32) ----
let state = SEED >>> 0;
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number) => Math.floor(rand() * n);
const chance = (p: number) => rand() < p;
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number) => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
};

const MODELS = ["sim/chat-small", "sim/chat-large", "nope/missing", "", "a".repeat(LIMITS.modelLength + 1)];
const ROLES = ["system", "developer", "user", "assistant", "tool", "robot", "", "USER"];
const EDGE_NUMBERS = [
  0,
  -0,
  -1,
  1,
  0.5,
  2,
  2.0000001,
  1e-300,
  1e308,
  -1e308,
  2 ** 31,
  2 ** 32,
  2 ** 53 + 2,
  -(2 ** 63),
  LIMITS.maxTokens,
  LIMITS.maxTokens + 1,
  4294967295,
  3600.0001,
];

function randomString(): string {
  switch (int(10)) {
    case 0:
      return "";
    case 1:
      return "\ud800"; // lone surrogate
    case 2:
      return `x\udfffy`;
    case 3:
      return "\u0000\u0001\u001f\u007f";
    case 4:
      return "é中🙂".repeat(1 + int(10));
    case 5:
      return pick(["__proto__", "constructor", "prototype", "toString"]);
    case 6:
      return "a".repeat(
        pick([LIMITS.slugLength + 1, LIMITS.nameLength + 1, LIMITS.labelValueLength + 1, 5000]),
      );
    case 7:
      return pick(["eu", "us", "EU", "eu-west-1", "-", "/", "sim-eu", "sim-eu/chat-small", "price"]);
    default:
      return bytes(1 + int(24)).toString("latin1");
  }
}

function randomValue(depth = 0): unknown {
  switch (int(depth > 2 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return chance(0.5);
    case 2:
      return pick(EDGE_NUMBERS);
    case 3:
      return (rand() - 0.5) * 10 ** int(12);
    case 4:
      return randomString();
    case 5:
      return Array.from({ length: int(5) }, () => randomValue(depth + 1));
    case 6:
      return Object.fromEntries(
        Array.from({ length: int(4) }, () => [randomString(), randomValue(depth + 1)]),
      );
    default:
      return { type: "text", text: randomString() };
  }
}

/** Every path (keys and indexes) inside a JSON value. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(x, p, out);
    }
  }
  return out;
}

/**
 * Upper bound on a mutated request's JSON size. Repeating a list whose element holds an already
 * repeated list multiplies sizes (the copies share one object): unbounded, one seed (712882402)
 * built a document that JSON.stringify could not hold — a failure of the generator, not of the
 * server. Four times the request limit still sends oversized requests.
 */
const MAX_MUTATED_CHARS = 4 * LIMITS.requestBytes;

/** Whether `v` serialises to at most `budget` characters (estimated, stops early when over). */
function fitsIn(v: unknown, budget: number): boolean {
  let left = budget;
  const walk = (x: unknown): boolean => {
    if (typeof x === "string") left -= x.length + 2;
    else if (x && typeof x === "object") {
      left -= 2;
      for (const [k, y] of Object.entries(x)) {
        left -= k.length + 4;
        if (left < 0 || !walk(y)) return false;
      }
    } else left -= 24;
    return left >= 0;
  };
  return walk(v);
}

/** 1–3 structural mutations of a JSON request, drawn again while the result is too large. */
function mutate(base: Record<string, unknown>, extraKeys: readonly string[]): unknown {
  for (;;) {
    const doc = mutateOnce(base, extraKeys);
    if (fitsIn(doc, MAX_MUTATED_CHARS)) return doc;
  }
}

/** 1–3 structural mutations of a JSON request (a deep copy). */
function mutateOnce(base: Record<string, unknown>, extraKeys: readonly string[]): unknown {
  const doc = structuredClone(base) as Record<string, unknown>;
  for (let n = 1 + int(3); n > 0; n--) {
    const all = paths(doc);
    const path = all.length > 0 && chance(0.8) ? pick(all) : [pick(extraKeys)];
    let parent: Record<string | number, unknown> = doc;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    if (!parent || typeof parent !== "object") continue;
    switch (int(7)) {
      case 0:
        delete parent[last];
        break;
      case 1: {
        const cur = parent[last];
        // Repeat a list past its limit.
        if (Array.isArray(cur) && cur.length > 0)
          parent[last] = Array.from({ length: pick([17, 65, 129, LIMITS.messages + 1]) }, () => cur[0]);
        else parent[last] = randomValue();
        break;
      }
      case 2:
        parent[last] = pick(EDGE_NUMBERS);
        break;
      case 3:
        parent[last] = randomString();
        break;
      default:
        parent[last] = randomValue();
    }
  }
  return doc;
}

// ---- request generators ----
const OPENAI_KEYS = [
  "model",
  "models",
  "messages",
  "provider",
  "region",
  "metadata",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "tools",
  "tool_choice",
  "seed",
  "stream",
  "stream_options",
  "n",
];

function openAIBase(): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: pick(MODELS.slice(0, 2)),
    messages: [
      { role: "system", content: "be brief" },
      { role: "user", content: chance(0.5) ? "hello" : [{ type: "text", text: "hi" }] },
    ],
    max_tokens: 4,
  };
  if (chance(0.5)) body.region = "eu";
  if (chance(0.4))
    body.provider = {
      sort: pick(["price", "latency", { by: "throughput", partition: "none" }]),
      data_collection: "deny",
      zdr: true,
      only: ["sim-eu"],
      max_price: { prompt: 10, completion: 10 },
      preferred_max_latency: { p90: 2 },
    };
  if (chance(0.2)) body.metadata = { team: "fuzz" };
  if (chance(0.2)) body.stop = ["\n\n"];
  if (chance(0.15))
    body.tools = [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }];
  if (chance(0.3)) body.stream = true;
  return body;
}

const CONNECT_KEYS = [
  "model",
  "models",
  "messages",
  "provider",
  "region",
  "labels",
  "maxTokens",
  "max_tokens",
  "temperature",
  "topP",
  "stop",
  "tools",
  "toolChoice",
  "seed",
  "workload",
];

function connectBase(): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: pick(MODELS.slice(0, 2)),
    messages: [{ role: "user", content: "hello" }],
    maxTokens: 4,
  };
  if (chance(0.5)) body.region = "eu";
  if (chance(0.4))
    body.provider = {
      sort: {
        by: pick(["SORT_BY_PRICE", "SORT_BY_LATENCY", 2, 99]),
        partition: pick(["SORT_PARTITION_NONE", 7]),
      },
      dataCollection: pick(["DATA_COLLECTION_DENY", 1, 42]),
      zdr: true,
      ignore: ["sim-us"],
      maxPrice: { prompt: 10 },
    };
  if (chance(0.2)) body.labels = { team: "fuzz" };
  if (chance(0.2)) body.seed = pick(["42", 42, "-9223372036854775808", "18446744073709551615"]);
  return body;
}

/** A valid ChatRequest (the routable baseline the mutations start from), as protobuf bytes. */
function protoChatValid(): Uint8Array {
  return toBinary(
    ChatRequestSchema,
    create(ChatRequestSchema, {
      model: pick(MODELS.slice(0, 2)),
      messages: [{ role: "user", content: "hi" }],
      region: chance(0.5) ? "eu" : "",
      maxTokens: 4,
      provider: chance(0.3) ? { dataCollection: 2, sort: { by: 1 } } : undefined,
    }),
  );
}

/** A type-correct ChatRequest with random (often out-of-range) values, as protobuf bytes. */
function protoChat(): Uint8Array {
  const msgCount = pick([0, 1, 2, 3, 1025]);
  const init = {
    model: chance(0.7) ? pick(MODELS.slice(0, 2)) : pick([...MODELS, randomString()]),
    models: chance(0.2) ? Array.from({ length: pick([1, 17]) }, randomString) : [],
    messages: Array.from({ length: msgCount }, () => ({
      role: chance(0.8) ? "user" : pick(ROLES),
      content: chance(0.9) ? "hi" : randomString(),
      name: chance(0.1) ? randomString() : "",
      toolCallId: chance(0.05) ? randomString() : "",
      toolCalls: chance(0.05)
        ? [
            {
              id: randomString(),
              type: "function",
              functionName: randomString(),
              functionArguments: randomString(),
            },
          ]
        : [],
    })),
    provider: chance(0.5)
      ? {
          order: chance(0.3) ? [randomString()] : [],
          sort: chance(0.5) ? { by: int(6), partition: int(5) } : undefined,
          dataCollection: int(5),
          maxPrice: chance(0.3) ? { prompt: pick(EDGE_NUMBERS), completion: Number.NaN } : undefined,
          preferredMaxLatency: chance(0.2) ? pick([Number.POSITIVE_INFINITY, -1, 5]) : undefined,
          quantizations: chance(0.2) ? [randomString(), "fp8"] : [],
        }
      : undefined,
    region: chance(0.5) ? pick(["eu", "us", ""]) : randomString(),
    labels: chance(0.2) ? { [randomString()]: randomString() } : {},
    maxTokens: chance(0.7) ? pick([1, 4, 0, LIMITS.maxTokens + 1, 4294967295]) : undefined,
    temperature: chance(0.3) ? pick([0, 1, 2.5, Number.NaN, -1]) : undefined,
    topP: chance(0.2) ? pick([0.5, 1.5, Number.NEGATIVE_INFINITY]) : undefined,
    stop: chance(0.2) ? Array.from({ length: pick([1, 5]) }, randomString) : [],
    tools: chance(0.1)
      ? [
          {
            type: "function",
            functionName: randomString(),
            description: "",
            parametersJson: pick(["{", "{}", "[]", "null"]),
          },
        ]
      : [],
    toolChoice: chance(0.1) ? randomString() : "",
    seed: chance(0.2) ? pick([0n, -1n, 2n ** 62n, -(2n ** 63n)]) : undefined,
    workload: chance(0.1) ? randomString() : "",
  };
  return toBinary(ChatRequestSchema, create(ChatRequestSchema, init));
}

/** Bit flips, insertions, deletions, truncation. */
function mutateBytes(b: Uint8Array): Buffer {
  const out = Buffer.from(b);
  const ops = 1 + int(4);
  let buf = out;
  for (let i = 0; i < ops && buf.length > 0; i++) {
    const at = int(buf.length);
    switch (int(4)) {
      case 0:
        buf[at] = buf[at]! ^ (1 << int(8));
        break;
      case 1:
        buf = Buffer.concat([buf.subarray(0, at), bytes(1 + int(8)), buf.subarray(at)]);
        break;
      case 2:
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + int(8))]);
        break;
      default:
        buf = buf.subarray(0, at);
    }
  }
  return buf;
}

// ---- result bookkeeping ----
interface Tally {
  sent: number;
  outcomes: Map<string, number>;
  failures: string[];
}
const tally = (): Tally => ({ sent: 0, outcomes: new Map(), failures: [] });
function note(t: Tally, outcome: string, bad: boolean, sample: () => string): void {
  t.sent++;
  t.outcomes.set(outcome, (t.outcomes.get(outcome) ?? 0) + 1);
  if (bad && t.failures.length < 20) t.failures.push(`${outcome}: ${sample()}`);
}
const show = (t: Tally) =>
  [...t.outcomes.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}×${v}`)
    .join(" ");

async function pool(n: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

const preview = (body: unknown) => {
  const s =
    typeof body === "string" ? body : Buffer.isBuffer(body) ? body.toString("hex") : JSON.stringify(body);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
};

describe("the request generator", () => {
  it("refuses a document whose shared repeats multiply past the bound, without serialising it", () => {
    const part = { type: "text", text: "x".repeat(5000) };
    const message = { role: "user", content: Array.from({ length: 1025 }, () => part) };
    const doc = { messages: Array.from({ length: 1025 }, () => message) }; // ~5 GB as JSON
    expect(fitsIn(doc, MAX_MUTATED_CHARS)).toBe(false);
    expect(fitsIn({ messages: [message] }, MAX_MUTATED_CHARS)).toBe(true);
  });

  // Seed 712882402 once built a request too large to serialise (RangeError: Invalid string
  // length in JSON.stringify) and failed CI for a reason that was not the server's.
  it("builds serialisable requests for any seed, among them 712882402", () => {
    const saved = state;
    try {
      for (const seed of [712882402, SEED]) {
        state = seed >>> 0;
        for (let i = 0; i < 3000; i++) {
          // Throws (RangeError) when a document is too large to serialise.
          expect(JSON.stringify(mutate(openAIBase(), OPENAI_KEYS)).length).toBeGreaterThan(1);
          expect(JSON.stringify(mutate(connectBase(), CONNECT_KEYS)).length).toBeGreaterThan(1);
        }
      }
    } finally {
      state = saved;
    }
  });
});

describe(`fuzzing both APIs (seed ${SEED})`, () => {
  let t: TestApp;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const consoleErrors: string[] = [];
  const consoleError = console.error;
  const rss: number[] = [];

  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    process.on("uncaughtException", onUnhandled);
    console.error = (...args: unknown[]) => {
      consoleErrors.push(args.map(String).join(" ").slice(0, 500));
    };
    t = await startTestApp({ env: { SOVR_LOG_LEVEL: "warn", SOVR_SIMULATOR_TOKENS: "2" } });
    // A fast upstream: two chunks, no delay, on every simulated provider.
    for (const p of ["sim-eu", "sim-us", "sim-unknown"]) t.simulator.setBehaviour(p, { completionTokens: 2 });
  });
  afterAll(async () => {
    process.off("unhandledRejection", onUnhandled);
    process.off("uncaughtException", onUnhandled);
    console.error = consoleError;
    await t?.close();
  });

  const http = tally();
  const connect = tally();
  const grpcT = tally();
  const h2raw = tally();

  async function fuzzHttp(n: number): Promise<void> {
    await pool(n, async () => {
      let body: string | Buffer;
      const r = rand();
      if (r < 0.75) body = JSON.stringify(mutate(openAIBase(), OPENAI_KEYS));
      else if (r < 0.8) body = JSON.stringify(openAIBase());
      else if (r < 0.88) body = JSON.stringify(randomValue());
      else if (r < 0.94) body = JSON.stringify(openAIBase()).slice(0, int(80));
      else if (r < 0.995) body = bytes(int(512));
      else
        body = JSON.stringify({
          ...openAIBase(),
          messages: [{ role: "user", content: "x".repeat(LIMITS.requestBytes) }],
        });
      const res = await fetch(`${t.app.httpUrl}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await res.text();
      // A stream that broke after its 200 carries the error as an event: never a server fault.
      const bad =
        res.status >= 500 && res.status !== 503 ? true : /"status":5\d\d(?<!503)|"api_error"/.test(text);
      note(
        http,
        String(res.status),
        bad || res.status === 500,
        () => `${preview(body)} → ${text.slice(0, 300)}`,
      );
    });
  }

  async function fuzzConnect(n: number): Promise<void> {
    await pool(n, async () => {
      const method = chance(0.8) ? "Chat" : "Explain";
      let body: string | Buffer;
      let type = "application/json";
      const r = rand();
      const wrap = (b: unknown) => (method === "Explain" && chance(0.9) ? { request: b } : b);
      if (r < 0.75) body = JSON.stringify(wrap(mutate(connectBase(), CONNECT_KEYS)));
      else if (r < 0.8) body = JSON.stringify(wrap(connectBase()));
      else if (r < 0.88) body = JSON.stringify(randomValue());
      else if (r < 0.93) body = bytes(int(512));
      else if (r < 0.96) {
        // Streaming protocols on the HTTP/1.1 port: Connect streaming and gRPC-Web, enveloped.
        const msg = chance(0.5) ? mutateBytes(protoChat()) : Buffer.from(protoChat());
        const head = Buffer.alloc(5);
        head[0] = chance(0.9) ? 0 : 1;
        head.writeUInt32BE(msg.length, 1);
        body = Buffer.concat([head, msg]);
        type = pick(["application/connect+proto", "application/grpc-web+proto"]);
        const res = await fetch(`${t.app.httpUrl}/sovereign.v1.RouterService/ChatStream`, {
          method: "POST",
          headers: { "content-type": type, "connect-protocol-version": "1" },
          body,
        });
        const frames = Buffer.from(await res.arrayBuffer());
        const text = frames.toString("latin1");
        const code = type.includes("grpc-web")
          ? `web/${/grpc-status: *(\d+)/.exec(text)?.[1] ?? res.headers.get("grpc-status") ?? "?"}`
          : `stream/${/"code":"([a-z_]+)"/.exec(text)?.[1] ?? "ok"}`;
        const bad = res.status >= 500 || /\/(13|2|15|internal|unknown|data_loss)$/.test(code);
        return note(connect, code, bad, () => `${type} ${preview(body)} → ${text.slice(0, 300)}`);
      } else {
        // Connect's binary encoding on the same route: protobuf, mutated or not.
        type = "application/proto";
        body = chance(0.5) ? mutateBytes(protoChat()) : Buffer.from(protoChat());
        if (method === "Explain") body = Buffer.concat([Buffer.from([0x0a]), varint(body.length), body]);
      }
      const res = await fetch(`${t.app.httpUrl}/sovereign.v1.RouterService/${method}`, {
        method: "POST",
        headers: { "content-type": type, "connect-protocol-version": "1" },
        body,
      });
      const text = await res.text();
      let code = String(res.status);
      if (res.status !== 200) {
        try {
          code = `${res.status}/${(JSON.parse(text) as { code?: string }).code}`;
        } catch {
          code = `${res.status}/?`;
        }
      }
      const bad = res.status === 500 || /\/(internal|unknown|data_loss)$/.test(code);
      note(connect, code, bad, () => `${type} ${method} ${preview(body)} → ${text.slice(0, 300)}`);
    });
  }

  async function fuzzGrpc(n: number): Promise<void> {
    const client = new grpc.Client(`127.0.0.1:${t.app.servers.grpcPort}`, grpc.credentials.createInsecure(), {
      "grpc.max_send_message_length": -1,
    });
    const raw = (b: Buffer) => b;
    try {
      await pool(n, async () => {
        const r = rand();
        let payload: Buffer;
        if (r < 0.2) payload = Buffer.from(protoChatValid());
        else if (r < 0.4) payload = Buffer.from(protoChat());
        else if (r < 0.75) payload = mutateBytes(chance(0.5) ? protoChatValid() : protoChat());
        else payload = bytes(int(chance(0.05) ? 70_000 : 600));
        const method = pick(["Chat", "Chat", "ChatStream", "Explain"]);
        if (method === "Explain" && r < 0.75) {
          // ExplainRequest{request = 1}: wrap the (possibly broken) ChatRequest bytes.
          payload = Buffer.concat([Buffer.from([0x0a]), varint(payload.length), payload]);
        }
        const path = `/${RouterService.typeName}/${method}`;
        const deadline = Date.now() + 20_000;
        const code = await new Promise<grpc.status>((resolve) => {
          if (method === "ChatStream") {
            const s = client.makeServerStreamRequest(path, raw, raw, payload, new grpc.Metadata(), {
              deadline,
            });
            s.on("data", () => {});
            s.on("error", (e: grpc.ServiceError) => resolve(e.code));
            s.on("end", () => resolve(grpc.status.OK));
          } else {
            client.makeUnaryRequest(path, raw, raw, payload, new grpc.Metadata(), { deadline }, (err) =>
              resolve(err ? err.code : grpc.status.OK),
            );
          }
        });
        const bad = [grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.DATA_LOSS].includes(code);
        note(grpcT, grpc.status[code] ?? String(code), bad, () => `${method} ${preview(payload)}`);
      });
    } finally {
      client.close();
    }
  }

  /** Broken gRPC framing that grpc-js would never send: bad envelopes, flags, lengths. */
  async function fuzzRawH2(n: number): Promise<void> {
    const session = http2Connect(`http://127.0.0.1:${t.app.servers.grpcPort}`);
    session.on("error", () => {});
    try {
      await pool(n, async () => {
        const msg = Buffer.from(protoChat());
        const env = (flags: number, len: number, body: Buffer) => {
          const h = Buffer.alloc(5);
          h[0] = flags;
          h.writeUInt32BE(len >>> 0, 1);
          return Buffer.concat([h, body]);
        };
        const body = pick([
          () => bytes(int(64)),
          () => env(1, msg.length, msg), // "compressed" without grpc-encoding
          () => env(0, msg.length + 10, msg), // length longer than the body
          () => env(0, 0x7fffffff, msg), // claims 2 GiB
          () => env(int(256), int(1000), bytes(int(100))),
          () => Buffer.concat([env(0, msg.length, msg), env(0, msg.length, msg)]), // two messages to a unary RPC
          () => Buffer.alloc(0),
        ])();
        const headers: Record<string, string> = {
          ":method": "POST",
          ":path": `/${RouterService.typeName}/${pick(["Chat", "ChatStream", "Explain"])}`,
          "content-type": pick(["application/grpc", "application/grpc+proto", "application/grpc+json"]),
          te: "trailers",
        };
        if (chance(0.2)) headers["grpc-encoding"] = pick(["gzip", "snappy", "identity"]);
        if (chance(0.1)) headers["grpc-timeout"] = pick(["1S", "abc", "99999999999H", "-1m"]);
        const t0 = Date.now();
        const result0 = await new Promise<string>((resolve) => {
          const req = session.request(headers);
          let status = "";
          req.on("response", (h) => {
            status = String(h["grpc-status"] ?? "");
            if (h[":status"] !== 200) status = `http${h[":status"]}`;
          });
          req.on("trailers", (tr) => {
            status = String(tr["grpc-status"] ?? status);
            // The answer is complete; a request body the server did not read is not waited for.
            resolve(status);
            req.close();
          });
          req.on("error", () => resolve("reset"));
          req.on("close", () => resolve(status || "none"));
          req.setTimeout(20_000, () => req.close());
          req.resume();
          req.end(body);
        });
        // No answer within 15 s means the server sat on a broken request: a failure too.
        const result = Date.now() - t0 > 15_000 ? `hung-${result0}` : result0;
        const bad =
          result.startsWith("slow") ||
          result === "13" ||
          result === "2" ||
          result === "15" ||
          result === "http500";
        note(h2raw, result, bad, () => `${JSON.stringify(headers)} ${preview(body)}`);
      });
    } finally {
      session.close();
    }
  }

  it("answers ≥ 10,000 random and mutated requests without a crash, a 500/Internal, an unhandled rejection or a leak", async () => {
    const started = Date.now();
    const phases: string[] = [];
    const startRss = settledRss();
    // Warm-up (JIT, pools, first records), then the baseline RSS.
    await Promise.all([fuzzHttp(300 * SCALE), fuzzConnect(300 * SCALE), fuzzGrpc(300 * SCALE)]);
    rss.push(settledRss());
    const heap = [settledHeap()];
    const timed = async (name: string, p: Promise<void>) => {
      const t0 = Date.now();
      await p;
      phases.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    };
    // All four at once (each with its own concurrency), as a busy server would see them.
    await Promise.all([
      timed("HTTP API", fuzzHttp(3300 * SCALE)),
      timed("Connect", fuzzConnect(2700 * SCALE)),
      timed("gRPC", fuzzGrpc(3200 * SCALE)),
      timed("raw HTTP/2", fuzzRawH2(700 * SCALE)),
    ]);
    await t.app.audit.drain();
    rss.push(settledRss());
    heap.push(settledHeap());
    const total = http.sent + connect.sent + grpcT.sent + h2raw.sent;
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
    process.stdout.write(
      [
        `fuzz seed ${SEED}: ${total} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        `  HTTP API     ${http.sent}: ${show(http)}`,
        `  Connect      ${connect.sent}: ${show(connect)}`,
        `  gRPC         ${grpcT.sent}: ${show(grpcT)}`,
        `  raw HTTP/2   ${h2raw.sent}: ${show(h2raw)}`,
        `  RSS at start ${mb(startRss)}, after warm-up ${mb(rss[0]!)}, after the run ${mb(rss[1]!)} (Δ ${mb(rss[1]! - rss[0]!)}); heap after warm-up ${mb(heap[0]!)}, after the run ${mb(heap[1]!)}`,
        `  console.error lines: ${consoleErrors.length}`,
        `  finished after: ${phases.join(", ")}`,
        "",
      ].join("\n"),
    );

    expect(total).toBeGreaterThanOrEqual(10_000 * SCALE);
    expect(http.failures, "HTTP API 5xx").toEqual([]);
    expect(connect.failures, "Connect internal/500").toEqual([]);
    expect(grpcT.failures, "gRPC Internal/Unknown").toEqual([]);
    expect(h2raw.failures, "raw HTTP/2 Internal/Unknown").toEqual([]);
    expect(unhandled, "unhandled rejections / exceptions").toEqual([]);
    expect(consoleErrors, "connect-node handler failures").toEqual([]);
    // Sanity: the fuzzer also sends requests that pass and are routed.
    expect(http.outcomes.get("200") ?? 0).toBeGreaterThan(100 * SCALE);
    expect(grpcT.outcomes.get("OK") ?? 0).toBeGreaterThan(100 * SCALE);
    // Memory: the run may grow caches, not leak per request. Live JS objects are what a
    // per-request leak would keep: after a real collection the heap may not grow by 48 MB (about
    // 4.5 KB per request). RSS also holds the embedded database's worker, whose WebAssembly
    // memory grows with the data and its caches and never shrinks (between −290 and +230 MB over
    // the same run): it gets only a gross bound.
    expect(heap[1]! - heap[0]!).toBeLessThan(48 * 2 ** 20);
    expect(rss[1]! - rss[0]!).toBeLessThan(400 * 2 ** 20);

    // Still serving: readiness and a plain request.
    expect((await fetch(`${t.app.httpUrl}/readyz`)).status).toBe(200);
    const ok = await fetch(`${t.app.httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "sim/chat-small", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(ok.status).toBe(200);
  }, 180_000);
});

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
