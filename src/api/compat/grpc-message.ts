import type { Http2ServerResponse } from "node:http2";

/**
 * gRPC's `grpc-message` is percent-encoded, but only bytes outside printable ASCII and "%"
 * must be (grpc/doc/PROTOCOL-HTTP2.md). connect-node encodes with encodeURIComponent, which
 * also escapes "/", ":", "," …; Go and C++ clients decode that, but @grpc/grpc-js decodes
 * with decodeURI and would show callers "sim-eu%2Fchat-small%3A". Re-encoding minimally
 * gives every client the same readable message.
 */
export function minimalGrpcMessage(encoded: string): string {
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function fix(headers: unknown): void {
  if (headers && typeof headers === "object" && "grpc-message" in headers) {
    const h = headers as Record<string, unknown>;
    if (typeof h["grpc-message"] === "string") h["grpc-message"] = minimalGrpcMessage(h["grpc-message"]);
  }
}

/** Rewrites `grpc-message` in the headers (trailers-only responses) and trailers of `res`. */
export function patchGrpcMessage(res: Http2ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => Http2ServerResponse;
  res.writeHead = ((status: number, ...rest: unknown[]) => {
    for (const r of rest) fix(r);
    return writeHead(status, ...rest);
  }) as typeof res.writeHead;
  const addTrailers = res.addTrailers.bind(res);
  res.addTrailers = (trailers) => {
    fix(trailers);
    addTrailers(trailers);
  };
}
