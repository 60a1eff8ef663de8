import type { ServerHttp2Stream } from "node:http2";
import { constants } from "node:http2";
import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Compression, envelopeCompress, envelopeDecompress } from "@connectrpc/connect/protocol";
import { GrpcBody } from "./grpc-body.js";
import type { FrameEncoder } from "./proto-encode.js";

/** The message-level helpers of ./grpc-stream.ts: reading, framing, errors, headers. */

const COMPRESS_MIN_BYTES = 1024;
const MALFORMED = "malformed request message: ";

/** The one request message: read, its size checked before it is buffered, decompressed, parsed. */
export async function readMessage(
  stream: ServerHttp2Stream,
  schema: DescMessage,
  compression: Compression | null,
  readMaxBytes: number,
): Promise<unknown> {
  const body = await GrpcBody.read(stream, readMaxBytes);
  if (body.messages.length === 0)
    throw new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
  if (body.messages.length > 1)
    throw new ConnectError(
      "protocol error: received extra input message for unary method",
      Code.Unimplemented,
    );
  const env = body.messages[0]!;
  let data: Uint8Array;
  try {
    data = (await envelopeDecompress(env, compression, readMaxBytes)).data;
  } catch (err) {
    const e = ConnectError.from(err);
    if (e.code === Code.Internal) throw new ConnectError(MALFORMED + e.rawMessage, Code.InvalidArgument);
    throw e;
  }
  try {
    return fromBinary(schema, data, { readUnknownFields: false });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ConnectError(`${MALFORMED}parse binary: ${msg}`, Code.InvalidArgument);
  }
}

/**
 * A response message's frame: encoded by `encode` (./proto-encode.ts), compressed (above 1 KiB,
 * as connect does) only when the call negotiated compression; synchronous otherwise.
 */
export function frameMessage(
  encode: FrameEncoder,
  message: unknown,
  compression: Compression | null,
): Uint8Array | Promise<Uint8Array> {
  const framed = encode(message);
  if (!compression || framed.byteLength - 5 < COMPRESS_MIN_BYTES) return framed;
  return envelope(framed.subarray(5), compression);
}

export async function envelope(data: Uint8Array, compression: Compression | null): Promise<Uint8Array> {
  let env = { flags: 0, data };
  if (compression && data.byteLength >= COMPRESS_MIN_BYTES) env = await envelopeCompress(env, compression, 0);
  const out = Buffer.allocUnsafe(5 + env.data.byteLength);
  out[0] = env.flags;
  out.writeUInt32BE(env.data.byteLength, 1);
  out.set(env.data, 5);
  return out;
}

/** connect-node's reading of a reset stream (node-error.ts): CANCEL is Canceled, and so on. */
export function resetError(code: number): ConnectError {
  const name = `http/2 stream closed with error code ${code}`;
  switch (code) {
    case constants.NGHTTP2_CANCEL:
      return new ConnectError(name, Code.Canceled);
    case constants.NGHTTP2_REFUSED_STREAM:
      return new ConnectError(name, Code.Unavailable);
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return new ConnectError(name, Code.ResourceExhausted);
    case constants.NGHTTP2_INADEQUATE_SECURITY:
    case constants.NGHTTP2_HTTP_1_1_REQUIRED:
      return new ConnectError(name, Code.PermissionDenied);
    default:
      return new ConnectError(name, code === constants.NGHTTP2_NO_ERROR ? Code.Canceled : Code.Internal);
  }
}

/** Milliseconds left before `deadline` (undefined: none). Bound per call, not a named closure. */
export function remaining(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : deadline - Date.now();
}

export function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const k of [...to.keys()]) to.delete(k);
  for (const [k, v] of from) to.set(k, v);
}

/** The one request message of a server stream, as connect passes it: an async iterable. */
export function once<T>(v: T): AsyncIterable<T> {
  return new Once(v);
}

class Once<T> implements AsyncIterableIterator<T> {
  #done = false;
  constructor(private readonly v: T) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    if (this.#done) return { done: true, value: undefined };
    this.#done = true;
    return { done: false, value: this.v };
  }

  async return(): Promise<IteratorResult<T>> {
    this.#done = true;
    return { done: true, value: undefined };
  }
}
