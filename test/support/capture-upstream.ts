import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A tiny OpenAI-compatible upstream on 127.0.0.1 that keeps the JSON body of every
 * `POST …/chat/completions` it receives and answers with one fixed completion ("captured"),
 * streamed as SSE when asked to. For tests asserting what the router sent upstream.
 */
export interface CaptureUpstream {
  /** Base URL for a catalog's `base_url` (ends in /v1). */
  readonly url: string;
  /** Every request body received, in order. */
  readonly bodies: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startCaptureUpstream(): Promise<CaptureUpstream> {
  const bodies: Record<string, unknown>[] = [];
  const server: Server = createServer(async (req, res) => {
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(await text(req)) as Record<string, unknown>;
    bodies.push(body);
    const usage = { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 };
    if (body.stream !== true) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "cap-1",
          object: "chat.completion",
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content: "captured" }, finish_reason: "stop" }],
          usage,
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const chunk = (o: object) =>
      `data: ${JSON.stringify({ id: "cap-1", object: "chat.completion.chunk", ...o })}\n\n`;
    res.write(chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "captured" } }] }));
    res.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }));
    res.write(chunk({ choices: [], usage }));
    res.end("data: [DONE]\n\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    bodies,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
