/**
 * The witness's HTTP face (c2sp.org/tlog-witness): `POST /add-checkpoint` and the monitoring
 * `GET /<sha256(origin) hex>/checkpoint`, on one prefix. Bodies are capped (a checkpoint with a
 * 63-line proof is a few kilobytes); anything else is 404 / 405.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Witness, WitnessAnswer } from "./witness.js";

const MAX_BODY = 64 * 1024;

export function witnessServer(witness: Witness): Server {
  return createServer((req, res) => {
    void answer(witness, req).then(
      (a) => {
        res.writeHead(a.status, { "content-type": a.contentType });
        res.end(a.body);
      },
      () => {
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end("internal error\n");
      },
    );
  });
}

async function answer(witness: Witness, req: IncomingMessage): Promise<WitnessAnswer> {
  const path = new URL(req.url ?? "/", "http://witness").pathname;
  const plain = (status: number, body: string) => ({
    status,
    contentType: "text/plain; charset=utf-8",
    body: `${body}\n`,
  });
  if (path === "/add-checkpoint") {
    if (req.method !== "POST") return plain(405, "add-checkpoint takes POST");
    const body = await readBody(req);
    if (body === undefined) return plain(413, "request body too large");
    return witness.addCheckpoint(body);
  }
  const m = /^\/([0-9a-f]{64})\/checkpoint$/.exec(path);
  if (m && req.method === "GET") return witness.latest(m[1] as string);
  return plain(404, "not found");
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
