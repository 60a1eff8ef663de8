import type { IncomingMessage, ServerResponse } from "node:http";
import { constants, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, endStreamToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { minimalGrpcMessage } from "../compat/index.js";
import { countAsRefused } from "./h2-guard.js";

/**
 * Answering an RPC with an error *before* connect-es has read it, in the caller's protocol,
 * then refusing the rest of its body. connect-es writes errors only after it has read the
 * whole request message; the pre-auth check (./pre-auth.ts) must answer from the headers. The
 * wire formats come from connect-es's own protocol packages (the same serialisers its handlers
 * use), so a refusal reads exactly like one from an interceptor; only the choice of protocol by
 * content type is ours, as connect-es makes it (connect/src/protocol-*\/content-type.ts).
 */
export function refuseRpc(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  error: ConnectError,
): void {
  const type = String(req.headers["content-type"] ?? "");
  const mime = type.split(";")[0]!.trim();
  const headers = new Headers();
  let status = 200;
  let body: Uint8Array | undefined;
  if (/^application\/grpc(-web(-text)?)?(\+\w+)?$/.test(mime)) {
    // gRPC and gRPC-Web: a "trailers-only" response, the status in the headers and no body.
    headers.set("content-type", mime);
    setTrailerStatus(headers, error);
    const message = headers.get("grpc-message");
    if (message !== null) headers.set("grpc-message", minimalGrpcMessage(message));
  } else if (/^application\/connect\+\w+$/.test(mime)) {
    // Connect streaming: HTTP 200 and one end-stream frame (flag 0x02) carrying the error.
    headers.set("content-type", mime);
    const json = Buffer.from(JSON.stringify(endStreamToJson(new Headers(), error, undefined)));
    const head = Buffer.alloc(5);
    head[0] = 0x02;
    head.writeUInt32BE(json.length, 1);
    body = Buffer.concat([head, json]);
  } else {
    // Connect unary (and anything else): the code's HTTP status and a JSON error body.
    status = codeToHttpStatus(error.code);
    headers.set("content-type", "application/json");
    body = errorToJsonBytes(error, undefined);
  }
  for (const [k, v] of error.metadata) if (!headers.has(k)) headers.set(k, v);
  if (body) headers.set("content-length", String(body.byteLength));
  const plain = Object.fromEntries(headers);
  if ("stream" in req) refuseH2(req, res as Http2ServerResponse, status, plain, body);
  else refuseH1(req, res as ServerResponse, status, plain, body);
}

/**
 * HTTP/2: the response (headers and END_STREAM together when there is no body, which gRPC
 * clients need to see a trailers-only answer), then RST_STREAM NO_ERROR: "a server can send a
 * complete response prior to the client sending an entire request … [and] request that the
 * client abort transmission of a request without error" (RFC 9113 §8.1). The connection and
 * its other streams go on, unless it piles up refusals (./h2-guard.ts).
 */
function refuseH2(
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
): void {
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  const stream = req.stream;
  countAsRefused(stream);
  const stop = () => {
    if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
  };
  if (body) res.end(body, stop);
  else res.end(stop);
}

/**
 * Bytes of an unread request body the HTTP/1.1 refusal reads and discards before answering.
 * A client that is still writing when the connection closes sees EPIPE instead of the answer
 * (the CLI applying a catalog with the wrong key did), so a small body is read to its end and
 * thrown away; past this, the answer goes out and the connection closes. Nothing is buffered.
 */
export const REFUSAL_DRAIN_BYTES = 256 * 1024;
const REFUSAL_DRAIN_MS = 2000;

/**
 * HTTP/1.1: the response with `connection: close`, once the body has been discarded up to
 * {@link REFUSAL_DRAIN_BYTES} (or {@link REFUSAL_DRAIN_MS}); Node then closes the connection
 * once the answer is written, so a larger unread body is never read (at most the socket's
 * buffers).
 */
export function refuseH1(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Uint8Array | undefined,
): void {
  res.shouldKeepAlive = false;
  let answered = false;
  let timer: NodeJS.Timeout | undefined;
  const answer = () => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    req.off("data", onData).off("end", answer).off("error", answer);
    req.pause();
    res.writeHead(status, { ...headers, connection: "close" });
    res.end(body);
  };
  let seen = 0;
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > REFUSAL_DRAIN_BYTES) answer();
  };
  const declared = Number(req.headers["content-length"]);
  if (req.complete || declared === 0 || declared > REFUSAL_DRAIN_BYTES) {
    answer();
    return;
  }
  timer = setTimeout(answer, REFUSAL_DRAIN_MS);
  req.on("data", onData).on("end", answer).on("error", answer);
}
