import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** What the fake answers: text (in two chunks) or one tool call, and the finish reason. */
export type ScriptedReply =
  | { text: string; finish?: string }
  | { toolCall: { id: string; name: string; arguments: string } };

export interface ScriptedUpstream {
  url: string;
  /** Every Chat Completions body received, in order (parsed JSON). */
  bodies: Record<string, unknown>[];
  /** The next answers, used in order; the last one repeats. */
  replies: ScriptedReply[];
  close(): Promise<void>;
}

/**
 * A small OpenAI Chat Completions upstream on 127.0.0.1 (port 0) that records each request body
 * and streams a scripted answer: lets a test check what reached the provider and answer with
 * content the simulator does not produce (JSON for structured outputs).
 */
export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  const bodies: Record<string, unknown>[] = [];
  const up: ScriptedUpstream = { url: "", bodies, replies: [{ text: "ok" }], close: async () => {} };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>;
      bodies.push(body);
      const reply = up.replies.length > 1 ? up.replies.shift()! : up.replies[0]!;
      const chunk = (delta: object, finish: string | null, extra: object = {}) =>
        `data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
      res.writeHead(200, { "content-type": "text/event-stream" });
      if ("text" in reply) {
        const half = Math.ceil(reply.text.length / 2);
        res.write(chunk({ role: "assistant", content: reply.text.slice(0, half) }, null));
        res.write(chunk({ content: reply.text.slice(half) }, null));
        res.write(chunk({}, reply.finish ?? "stop"));
      } else {
        const { id, name, arguments: args } = reply.toolCall;
        const call = (fn: object, first: boolean) => ({
          index: 0,
          ...(first ? { id, type: "function" } : {}),
          function: fn,
        });
        res.write(chunk({ role: "assistant", tool_calls: [call({ name, arguments: "" }, true)] }, null));
        res.write(chunk({ tool_calls: [call({ arguments: args }, false)] }, null));
        res.write(chunk({}, "tool_calls"));
      }
      const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
      res.end(
        `data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", created: 0, model: body.model, choices: [], usage })}\n\ndata: [DONE]\n\n`,
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  up.close = () => new Promise<void>((r) => server.close(() => r()));
  return up;
}
