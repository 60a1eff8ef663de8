import type { ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { LIMITS } from "../../config/index.js";
import { withoutLoneSurrogates } from "./lone-surrogates.js";

/**
 * connect-es answers a request whose bytes it cannot read — protobuf that does not decode
 * (`parse binary: …`, connect/src/protocol/serialization.ts) or a compressed-flag envelope
 * without an encoding — with Internal, i.e. "the server is broken". The caller sent the bad
 * bytes, so it is InvalidArgument: what connect-go answers for the same input, what our own
 * validation answers for bad fields, and what keeps Internal meaning a fault of ours (alerts,
 * and the fuzz test, rely on that). Bad JSON is InvalidArgument in connect-es already.
 *
 * The message is read before interceptors and handlers run, so the one error boundary
 * (`toConnectError`) never sees it; this wraps the router's handlers and rewrites exactly these
 * statuses on the way out, on every protocol: the gRPC trailer, the Connect unary error body
 * and status, and the final frame of Connect streams and gRPC-Web. On the way in, it keeps
 * JSON lone surrogates from reaching connect's gRPC error path (see lone-surrogates.ts).
 */
export function malformedRequestsAreInvalidArgument(
  router: ConnectRouter,
  maxRequestBytes: number = LIMITS.requestBytes,
): void {
  const handlers = router.handlers;
  for (let i = 0; i < handlers.length; i++) handlers[i] = wrap(handlers[i]!, maxRequestBytes);
}

const MALFORMED = /^(parse binary: |received compressed envelope, but do not know how to decompress)/;
const FIXED_PREFIX = "malformed request message: ";

function wrap(handler: UniversalHandler, maxRequestBytes: number): UniversalHandler {
  const wrapped = async (req: Parameters<UniversalHandler>[0]): Promise<UniversalServerResponse> => {
    const res = await handler(withoutLoneSurrogates(req, maxRequestBytes));
    if (res.status === 500 && res.header?.get("content-type")?.startsWith("application/json") && res.body) {
      return connectUnary(res);
    }
    if (res.trailer) fixGrpcTrailer(res.trailer);
    if (!res.body) return res;
    return { ...res, body: fixFinalFrame(res.body, res.trailer) };
  };
  return Object.assign(wrapped, handler);
}

/** gRPC: `grpc-status: 13` + a malformed-message text → 3. */
function fixGrpcTrailer(trailer: Headers): void {
  if (trailer.get("grpc-status") !== "13") return;
  const message = safeDecode(trailer.get("grpc-message") ?? "");
  if (!MALFORMED.test(message)) return;
  trailer.set("grpc-status", "3");
  trailer.set("grpc-message", encodeURIComponent(FIXED_PREFIX + message));
}

/** Connect unary: HTTP 500 `{code: "internal"}` → 400 `{code: "invalid_argument"}`. */
async function connectUnary(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const c of res.body!) chunks.push(c);
  const bytes = Buffer.concat(chunks);
  let status = res.status;
  let out: Uint8Array = bytes;
  try {
    const err = JSON.parse(bytes.toString("utf8")) as { code?: string; message?: string };
    if (err.code === "internal" && MALFORMED.test(err.message ?? "")) {
      status = 400;
      out = Buffer.from(
        JSON.stringify({ ...err, code: "invalid_argument", message: FIXED_PREFIX + err.message }),
      );
      res.header?.delete("content-length");
    }
  } catch {
    // not a Connect error body: pass it on unchanged
  }
  return { ...res, status, body: once(out) };
}

/**
 * Connect streaming (end-stream frame, flag 0x02, JSON) and gRPC-Web (trailer frame, flag 0x80,
 * HTTP/1 header text) carry the status in the body's last frame; a parse failure happens before
 * any message, so that frame arrives alone in its chunk. gRPC's trailer is checked again at the
 * end, once connect has set it.
 */
async function* fixFinalFrame(
  body: AsyncIterable<Uint8Array>,
  trailer: Headers | undefined,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    if (trailer) fixGrpcTrailer(trailer);
    yield fixFrame(chunk);
  }
  if (trailer) fixGrpcTrailer(trailer);
}

function fixFrame(chunk: Uint8Array): Uint8Array {
  if (chunk.length < 5 || (chunk[0] !== 0x02 && chunk[0] !== 0x80)) return chunk;
  const len = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).readUInt32BE(1);
  if (len !== chunk.length - 5) return chunk;
  const text = Buffer.from(chunk.subarray(5)).toString("utf8");
  let fixed: string | undefined;
  if (chunk[0] === 0x02) {
    try {
      const end = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (end.error?.code === "internal" && MALFORMED.test(end.error.message ?? "")) {
        fixed = JSON.stringify({
          ...end,
          error: { ...end.error, code: "invalid_argument", message: FIXED_PREFIX + end.error.message },
        });
      }
    } catch {
      return chunk;
    }
  } else {
    const status = /^grpc-status: *13\r?$/im.test(text);
    const message = /^grpc-message: *(.*?)\r?$/im.exec(text)?.[1];
    if (status && message !== undefined && MALFORMED.test(safeDecode(message))) {
      fixed = text
        .replace(/^grpc-status: *13/im, "grpc-status: 3")
        .replace(
          /^grpc-message: *.*?(\r?)$/im,
          `grpc-message: ${encodeURIComponent(FIXED_PREFIX + safeDecode(message))}$1`,
        );
    }
  }
  if (fixed === undefined) return chunk;
  const body = Buffer.from(fixed, "utf8");
  const head = Buffer.alloc(5);
  head[0] = chunk[0]!;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
