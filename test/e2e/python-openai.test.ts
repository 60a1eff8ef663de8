import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, type TestApp } from "../support/app.js";
import { outcomeOf, startRoutingApp } from "../support/routing-app.js";

const run = promisify(execFile);
const PYTHON = join(REPO, ".tools/venv/bin/python");
const SCRIPT = join(REPO, "test/fixtures/python/openai_chat.py");
const INSTALL = "bash scripts/install-python-clients.sh";

/**
 * The official Python `openai` SDK (pinned, from PyPI, in .tools/venv) against the router's
 * OpenAI-compatible API, as a Python service would call it: a completion with and without
 * streaming (usage chunk), a tool call round trip, a refused field as a 400 naming it, and the
 * decision id header through `with_raw_response`. CI installs the venv and must run this; a
 * developer without it is told how to get it.
 */
const venv = existsSync(PYTHON);
if (!venv && process.env.CI === "true")
  throw new Error(`.tools/venv is missing under CI: ${INSTALL} must run before the tests (.ci/run does)`);
if (!venv) console.warn(`python-openai.test.ts skipped: no .tools/venv; run '${INSTALL}'`);

interface Seen {
  sdk_version: string;
  whole: {
    object: string;
    content: string;
    finish_reason: string;
    usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    decision_id: string;
    endpoint: string;
  };
  stream: { content: string; finish_reason: string; usage: Seen["whole"]["usage"] | null; chunks: number };
  tools: {
    finish_reason: string;
    name: string;
    arguments: unknown;
    id: string;
    reply_finish_reason: string;
    reply_has_text: boolean;
  };
  refused: { status: number; param?: string | null; type?: string | null; message?: string };
}

describe.skipIf(!venv)("the Python openai SDK against the OpenAI-compatible API", () => {
  let t: TestApp;
  let seen: Seen;

  beforeAll(async () => {
    t = await startRoutingApp();
    const { stdout } = await run(PYTHON, [SCRIPT, `${t.app.httpUrl}/v1`], { timeout: 50_000 });
    seen = JSON.parse(stdout) as Seen;
  });
  afterAll(async () => t?.close());

  it("runs the pinned SDK", () => {
    expect(seen.sdk_version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("non-streaming: a completion with usage, and the decision id via with_raw_response", async () => {
    expect(seen.whole).toMatchObject({
      object: "chat.completion",
      finish_reason: "stop",
      endpoint: "sim-eu/chat-small",
    });
    expect(seen.whole.content.length).toBeGreaterThan(0);
    const u = seen.whole.usage;
    expect(u.completion_tokens).toBeGreaterThan(0);
    expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
    expect(seen.whole.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await outcomeOf(t, seen.whole.decision_id)).toMatchObject({
      outcome: "success",
      endpoint_used: "sim-eu/chat-small",
    });
  });

  it("streaming: the same text in deltas, a finish reason and the usage chunk", () => {
    expect(seen.stream.content).toBe(seen.whole.content);
    expect(seen.stream.finish_reason).toBe("stop");
    expect(seen.stream.chunks).toBeGreaterThan(2);
    expect(seen.stream.usage).toEqual(seen.whole.usage);
  });

  it("a tool call round trip: the call with its arguments, then a reply to the tool's result", () => {
    expect(seen.tools.finish_reason).toBe("tool_calls");
    expect(seen.tools.name).toBe("get_weather");
    expect(seen.tools.id.length).toBeGreaterThan(0);
    expect(seen.tools.arguments).toEqual(expect.any(Object));
    expect(seen.tools.reply_finish_reason).toBe("stop");
    expect(seen.tools.reply_has_text).toBe(true);
  });

  it("a field the router does not honour is a 400 naming it (BadRequestError.param)", () => {
    expect(seen.refused).toMatchObject({ status: 400, param: "functions", type: "invalid_request_error" });
  });
});
