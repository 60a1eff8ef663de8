/**
 * The bench's **floor** target: the least an HTTP proxy written in Node can do on this machine.
 * A `node:http` server that forwards every request to the upstream simulator through an undici
 * keep-alive pool and pipes the response back as it arrives (so a stream stays a stream) — no
 * policy, no record, no auth, no parsing of either body. What sovr costs above this row is sovr;
 * what this row costs above `direct` is Node's HTTP server + client on this box.
 *
 * Run as its own process (bench/lib/peers-more.ts `startFloor`):
 *   node --import tsx bench/lib/floor-proxy.ts <port> <upstream origin>
 * Prints one JSON line `{"url": …}` when listening; SIGTERM closes it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { Pool } from "undici";

/** Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own, never forwarded either way. */
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
]);

function endToEnd(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

export function floorProxy(upstream: string) {
  const pool = new Pool(upstream, {
    connections: 512,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const ac = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) ac.abort();
    });
    try {
      const up = await pool.request({
        path: req.url ?? "/",
        method: (req.method ?? "GET") as "GET",
        headers: endToEnd(req.headers),
        body: req.method === "GET" || req.method === "HEAD" ? undefined : req,
        signal: ac.signal,
      });
      res.writeHead(up.statusCode, endToEnd(up.headers));
      await pipeline(up.body, res);
    } catch (err) {
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `floor proxy: ${(err as Error).message}` } }));
      } else res.destroy(err as Error);
    }
  };
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => void handle(req, res));
  return {
    server,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await pool.close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [port, upstream] = [Number(process.argv[2] ?? 0), process.argv[3]];
  if (!upstream) throw new Error("usage: floor-proxy.ts <port> <upstream origin>");
  const p = floorProxy(upstream);
  p.server.listen(port, "127.0.0.1", () => {
    const a = p.server.address() as { port: number };
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${a.port}` })}\n`);
  });
  const stop = () => void p.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
