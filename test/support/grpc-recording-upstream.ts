import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One OpenAI `chat.completion.chunk` (the parts the tests set). */
export type Chunk = Record<string, unknown>;

/**
 * A minimal OpenAI-compatible upstream on 127.0.0.1: it records every request body it receives
 * and answers `/v1/chat/completions` with the chunks of `reply` as a server-sent event stream.
 * The gRPC parity tests use it to see which fields reach an upstream, and to feed responses
 * carrying what the simulator does not make (logprobs, reasoning, refusals, usage details, n > 1).
 */
export class GrpcRecordingUpstream {
  readonly bodies: Record<string, unknown>[] = [];
  /** The chunks of the next answers (a text answer with usage by default). */
  reply: Chunk[] = GrpcRecordingUpstream.text("ok");
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<GrpcRecordingUpstream> {
    let self: GrpcRecordingUpstream | undefined;
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (b: Buffer) => parts.push(b));
      req.on("end", () => {
        if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
          res.writeHead(404).end();
          return;
        }
        self!.bodies.push(JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>);
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const c of self!.reply)
          res.write(`data: ${JSON.stringify({ object: "chat.completion.chunk", ...c })}\n\n`);
        res.end("data: [DONE]\n\n");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    self = new GrpcRecordingUpstream(server);
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The body of the last request received. */
  get last(): Record<string, unknown> {
    const b = this.bodies.at(-1);
    if (!b) throw new Error("the upstream received no request");
    return b;
  }

  /** A one-choice text answer: role, the text, finish reason stop, then usage. */
  static text(text: string): Chunk[] {
    return [
      { choices: [{ index: 0, delta: { role: "assistant", content: text } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
      { choices: [], usage: { prompt_tokens: 5, completion_tokens: 1 } },
    ];
  }

  close(): Promise<void> {
    return new Promise((r) => this.#server.close(() => r()));
  }
}
