import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ByokError, decryptKey, encryptKey, MasterKey } from "../../src/auth/byok.js";
import type { TestApp } from "../support/app.js";
import { outcomeOf, startRoutingApp } from "../support/routing-app.js";

const TENANT_KEY = "tenant-own-key-5f1e9c";
const SHARED_KEY = "shared-anthropic-key";

describe("BYOK key encryption", () => {
  const master = MasterKey.parse(MasterKey.generate());

  it("AES-256-GCM bound to tenant and provider: a row moved elsewhere does not decrypt", () => {
    const row = encryptKey(master, "acme", "anthropic", TENANT_KEY);
    expect(Buffer.from(row.ciphertext).includes(Buffer.from(TENANT_KEY))).toBe(false);
    expect(decryptKey(master, "acme", "anthropic", row)).toBe(TENANT_KEY);
    expect(() => decryptKey(master, "other", "anthropic", row)).toThrow();
    expect(() => decryptKey(master, "acme", "openai", row)).toThrow();
    expect(() => decryptKey(MasterKey.parse(MasterKey.generate()), "acme", "anthropic", row)).toThrow();
    const tampered = { ...row, ciphertext: Buffer.from(row.ciphertext).fill(0, 0, 1) };
    expect(() => decryptKey(master, "acme", "anthropic", tampered)).toThrow();
  });

  it("approved origins are bound too: a row whose origins were edited does not decrypt", () => {
    const origins = ["https://api.anthropic.com:443"];
    const row = encryptKey(master, "acme", "anthropic", TENANT_KEY, origins);
    expect(decryptKey(master, "acme", "anthropic", row, origins)).toBe(TENANT_KEY);
    expect(() => decryptKey(master, "acme", "anthropic", row, [...origins, "http://127.0.0.1:9"])).toThrow();
    expect(() => decryptKey(master, "acme", "anthropic", row, [])).toThrow();
    expect(() => decryptKey(master, "acme", "anthropic", row)).toThrow();
  });

  it("master key must be 32 bytes", () => {
    expect(() => MasterKey.parse("c2hvcnQ=")).toThrow(ByokError);
    expect(MasterKey.parse("ab".repeat(32)).id).toMatch(/^[0-9a-f]{16}$/);
  });
});

/** The Anthropic adapter against the simulator's Messages API, and BYOK end to end. */
describe("Anthropic adapter and BYOK through the server", () => {
  let t: TestApp;
  let openai: OpenAI;
  const ANTHROPIC = { only: ["sim-anthropic"] };
  const messages = [
    { role: "system" as const, content: "You are terse." },
    { role: "user" as const, content: "Hello from the test." },
  ];

  beforeAll(async () => {
    t = await startRoutingApp({ env: { SOVR_MASTER_KEY: MasterKey.generate() } });
    openai = new OpenAI({ baseURL: `${t.app.httpUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    t.simulator.resetBehaviour();
    await t.app.byok.remove("default", "sim-anthropic");
  });

  const ask = (provider: object = ANTHROPIC, extra: object = {}) =>
    openai.chat.completions
      .create({ model: "sim/chat-small", messages, ...extra, ...({ provider } as object) })
      .withResponse();
  const st = () => t.simulator.stats("sim-anthropic");
  // As a tenant admin does: approved for the provider's current endpoint origins.
  const setKey = (always: boolean) =>
    t.app.byokAdmin.set(undefined, "default", "sim-anthropic", TENANT_KEY, always);

  it("speaks the Messages API: system mapped, text streamed, usage counted", async () => {
    const before = st().protocols.anthropic;
    const { data, response } = await ask();
    expect(st().protocols.anthropic).toBe(before + 1);
    expect(response.headers.get("x-sovr-endpoint")).toBe("sim-anthropic/chat-small");
    expect(data.choices[0]!.message.content).toBe(
      "the quick brown fox jumps over a lazy dog while the router keeps every record the",
    );
    // 34 characters / 4 → 9 prompt tokens: the system prompt (which only reaches the upstream as
    // `system`) is counted; the user message alone would be 5.
    expect(data.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 16 });
    expect(st().credentials.at(-1)).toBe(SHARED_KEY);
    const stream = await openai.chat.completions.create({
      model: "sim/chat-small",
      messages,
      stream: true,
      ...({ provider: ANTHROPIC } as object),
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    expect(text).toBe(data.choices[0]!.message.content);
  });

  it("maps tools to tool_use and back", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: "function", function: { name: "lookup", parameters: { type: "object" } } },
    ];
    const { data } = await ask(ANTHROPIC, { tools, tool_choice: "required" });
    expect(st().toolNames.at(-1)).toEqual(["lookup"]);
    expect(data.choices[0]!.finish_reason).toBe("tool_calls");
    const call = data.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: "lookup", arguments: '{"city":"Paris"}' });
  });

  it("mid-stream abort and HTTP 529 behave as on the OpenAI adapter", async () => {
    t.simulator.setBehaviour("sim-anthropic", { fault: { kind: "status", status: 529 } });
    const { response } = await ask({ order: ["sim-anthropic", "sim-eu"], only: ["sim-anthropic", "sim-eu"] });
    expect(response.headers.get("x-sovr-endpoint")).toBe("sim-eu/chat-small");
    t.simulator.setBehaviour("sim-anthropic", { fault: { kind: "abort_after", chunks: 2 } });
    const stream = await openai.chat.completions.create({
      model: "sim/chat-small",
      messages,
      stream: true,
      ...({ provider: ANTHROPIC } as object),
    });
    await expect(
      (async () => {
        for await (const _ of stream);
      })(),
    ).rejects.toThrow(/interrupted/);
  });

  it("the tenant's own key is used first", async () => {
    await setKey(false);
    await ask();
    expect(st().credentials.at(-1)).toBe(TENANT_KEY);
  });

  it("own key refused → the shared key (not `always`); both attempts in the outcome", async () => {
    await setKey(false);
    t.simulator.setBehaviour("sim-anthropic", { acceptKeys: [SHARED_KEY] });
    const n = st().credentials.length;
    const { response } = await ask();
    expect(st().credentials.slice(n)).toEqual([TENANT_KEY, SHARED_KEY]);
    const outcome = await outcomeOf(t, response.headers.get("x-sovr-decision-id")!);
    expect(outcome.attempts.map((a) => [a.endpoint_id, a.status])).toEqual([
      ["sim-anthropic/chat-small", 401],
      ["sim-anthropic/chat-small", 200],
    ]);
  });

  it("`always use my key` forbids the shared key: the next provider serves, or nothing", async () => {
    await setKey(true);
    t.simulator.setBehaviour("sim-anthropic", { acceptKeys: [SHARED_KEY] });
    const n = st().credentials.length;
    const { response } = await ask({ order: ["sim-anthropic", "sim-eu"], only: ["sim-anthropic", "sim-eu"] });
    expect(response.headers.get("x-sovr-endpoint")).toBe("sim-eu/chat-small");
    expect(st().credentials.slice(n)).toEqual([TENANT_KEY]);
    const err = await ask().catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect(st().credentials.slice(n)).toEqual([TENANT_KEY, TENANT_KEY]);
  });

  it("keys never appear in logs, records, the database in clear, or API responses", async () => {
    await setKey(true);
    t.simulator.setBehaviour("sim-anthropic", { acceptKeys: ["nobody"] });
    const err = await ask().catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    const { data } = await ask({ only: ["sim-eu"] });
    const admin = await fetch(`${t.app.httpUrl}/v1/admin/byok`);
    expect(admin.status).toBe(403); // only admins manage keys
    await t.app.audit.settled();
    const envelopes = await t.app.db.db.selectFrom("audit_log").select("envelope").execute();
    const payloads = envelopes.map((r) =>
      Buffer.from(JSON.parse(r.envelope).payload, "base64").toString("utf8"),
    );
    const stored = await t.app.db.db
      .withTables<{ byok_keys: { ciphertext: Uint8Array } }>()
      .selectFrom("byok_keys")
      .select("ciphertext")
      .execute();
    const haystack = [
      t.logs.join("\n"),
      envelopes.map((r) => r.envelope).join("\n"),
      payloads.join("\n"),
      JSON.stringify(err),
      JSON.stringify(data),
      await admin.text(),
      stored.map((r) => Buffer.from(r.ciphertext).toString("latin1")).join("\n"),
    ].join("\n");
    expect(payloads.length).toBeGreaterThan(10);
    for (const secret of [TENANT_KEY, SHARED_KEY]) expect(haystack).not.toContain(secret);
  });
});
