import type { UniversalServerRequest } from "@connectrpc/connect/protocol";

/**
 * A JSON string may spell a lone UTF-16 surrogate (`"\ud800"`). protobuf-es rejects it in a
 * string field, but echoes it in other decode errors (`cannot decode field …seed from JSON:
 * "\ud800"`), and connect's gRPC and gRPC-Web protocols then put that message in the
 * `grpc-message` trailer with encodeURIComponent, which throws on a lone surrogate: the handler
 * rejects before any status is written and the call hangs until the client gives up (the
 * Connect protocol writes errors as JSON and is not affected).
 *
 * No field of ours can hold such a string (validation refuses them), so for `+json` gRPC
 * and gRPC-Web requests every escaped lone surrogate is replaced by `\ufffd` — six bytes for
 * six, so frame lengths stay exact — before connect reads the message, as Go's encoding/json
 * (and so connect-go) decodes them. A surrogate in `model` or `role` is then refused by
 * validation like any other bad character; in free text it arrives as U+FFFD. Binary protobuf
 * needs nothing: UTF-8 cannot encode a surrogate.
 */
export function withoutLoneSurrogates(req: UniversalServerRequest, maxBytes: number): UniversalServerRequest {
  const type = req.header.get("content-type") ?? "";
  if (!/^application\/grpc(-web)?\+json\b/i.test(type)) return req;
  const body = req.body;
  if (!isAsyncIterable(body)) return req;
  return { ...req, body: sanitized(body, maxBytes) };
}

function isAsyncIterable(v: unknown): v is AsyncIterable<Uint8Array> {
  return typeof v === "object" && v !== null && Symbol.asyncIterator in v;
}

/**
 * Buffers the body (one request message for every RPC we serve) up to `maxBytes` plus a frame
 * header, fixes it, and passes it on; a larger body goes on unchanged, for connect's own size
 * limit to refuse.
 */
async function* sanitized(body: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await it.next();
    if (next.done) break;
    chunks.push(Buffer.from(next.value));
    size += next.value.length;
    if (size > maxBytes + 5) {
      yield* chunks;
      for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
      return;
    }
  }
  const buf = Buffer.concat(chunks);
  fixFrames(buf);
  yield buf;
}

/** Walks the length-prefixed frames and fixes each message payload in place. */
export function fixFrames(buf: Buffer): void {
  let at = 0;
  while (at + 5 <= buf.length) {
    const len = buf.readUInt32BE(at + 1);
    const start = at + 5;
    const end = Math.min(start + len, buf.length);
    if ((buf[at]! & 0x80) === 0) replaceLoneSurrogateEscapes(buf, start, end);
    at = start + len;
  }
}

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const U = 0x75;
const REPLACEMENT = Buffer.from("\\ufffd", "latin1");

/** Replaces every `\uD800`–`\uDFFF` escape inside a JSON string that is not half of a pair. */
export function replaceLoneSurrogateEscapes(buf: Buffer, start: number, end: number): void {
  let inString = false;
  let i = start;
  while (i < end) {
    const b = buf[i]!;
    if (!inString) {
      if (b === QUOTE) inString = true;
      i++;
      continue;
    }
    if (b === QUOTE) {
      inString = false;
      i++;
      continue;
    }
    if (b !== BACKSLASH) {
      i++;
      continue;
    }
    if (buf[i + 1] !== U) {
      i += 2;
      continue;
    }
    const unit = hex4(buf, i + 2, end);
    if (unit < 0xd800 || unit > 0xdfff) {
      i += 6;
      continue;
    }
    if (unit <= 0xdbff && buf[i + 6] === BACKSLASH && buf[i + 7] === U) {
      const low = hex4(buf, i + 8, end);
      if (low >= 0xdc00 && low <= 0xdfff) {
        i += 12;
        continue;
      }
    }
    REPLACEMENT.copy(buf, i);
    i += 6;
  }
}

/** The value of four hex digits at `at`, or -1. */
function hex4(buf: Buffer, at: number, end: number): number {
  if (at + 4 > end) return -1;
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = buf[at + k]!;
    const d =
      c >= 0x30 && c <= 0x39
        ? c - 0x30
        : c >= 0x61 && c <= 0x66
          ? c - 0x57
          : c >= 0x41 && c <= 0x46
            ? c - 0x37
            : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}
