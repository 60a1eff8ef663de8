/**
 * The gRPC port speaks HTTP/2 only (docs/architecture.md §3). An HTTP/1.1 client that reaches
 * it by mistake (curl, the `sovr` CLI with SOVR_URL on the wrong port) used to get the HTTP/2
 * server's binary GOAWAY — "Received HTTP/0.9" in curl, `write EPIPE` in Node. Here it gets a
 * proper HTTP/1.1 answer instead: 426 Upgrade Required, a text body naming the HTTP port, and
 * the headers `sovr-port: grpc` and `sovr-http-port` so the CLI can say what to change.
 *
 * Cleartext: the first bytes of each connection are looked at; the HTTP/2 connection preface
 * goes on to the HTTP/2 server untouched, anything else gets the answer. TLS: clients that do
 * not negotiate `h2` by ALPN arrive as the HTTP/2 server's `unknownProtocol` event.
 */
import type { Http2SecureServer, Http2Server } from "node:http2";
import { createServer, type Server, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** How long a refused connection may keep sending before it is closed. */
const LINGER_MS = 2000;

/** The HTTP/1.1 answer, with the HTTP port as bound (known once both ports listen). */
export function http1Refusal(httpPort: number): string {
  const body =
    `This is the gRPC port of Sovereign Router: HTTP/2 only (gRPC, gRPC-Web, Connect).\n` +
    `For HTTP/1.1 (the OpenAI-compatible API, Connect JSON, /healthz, /readyz, /metrics, the sovr CLI's SOVR_URL) use the HTTP port ${httpPort}.\n`;
  return [
    "HTTP/1.1 426 Upgrade Required",
    "upgrade: h2c",
    "connection: close",
    "content-type: text/plain; charset=utf-8",
    "sovr-port: grpc",
    `sovr-http-port: ${httpPort}`,
    `content-length: ${Buffer.byteLength(body)}`,
    "",
    body,
  ].join("\r\n");
}

function refuse(socket: Socket | TLSSocket, httpPort: number): void {
  socket.on("error", () => {});
  // Keep reading what the client still sends, so closing does not reset the connection
  // before it has read the answer.
  socket.on("data", () => {});
  socket.setTimeout(LINGER_MS, () => socket.destroy());
  socket.end(http1Refusal(httpPort));
}

/**
 * A listener for the cleartext gRPC port: HTTP/2 connections are handed to `h2` (which reads
 * the bytes already taken off the socket first), others are refused as above.
 */
export function sniffingFront(h2: Http2Server, httpPort: () => number): Server {
  return createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", (chunk: Buffer) => {
      socket.pause();
      const n = Math.min(chunk.length, PREFACE.length);
      if (chunk.subarray(0, n).equals(PREFACE.subarray(0, n))) {
        socket.unshift(chunk);
        h2.emit("connection", socket);
      } else {
        refuse(socket, httpPort());
      }
    });
  });
}

/** TLS: a client that did not negotiate `h2` gets the same HTTP/1.1 answer. */
export function refuseUnknownProtocol(h2: Http2SecureServer, httpPort: () => number): void {
  h2.on("unknownProtocol", (socket: TLSSocket) => refuse(socket, httpPort()));
}
