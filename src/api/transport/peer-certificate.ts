import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest, ServerHttp2Stream } from "node:http2";
import type { TLSSocket } from "node:tls";
import type { PeerCertificate } from "../../auth/index.js";

/**
 * The client certificate of the connection a request came on, for authorize(): undefined on a
 * cleartext connection or when the client presented none. `authorized` is Node's verdict
 * against the configured CA (in SOVR_TLS_CLIENT_CERT=optional mode Node lets an untrusted
 * certificate finish the handshake, and authorize() refuses every call that carries one).
 */
export function peerCertificate(
  req: IncomingMessage | Http2ServerRequest | { readonly stream: ServerHttp2Stream },
): PeerCertificate | undefined {
  // HTTP/2: the session's socket (req.socket is a proxy that does not expose TLS methods alike).
  const socket = ("stream" in req ? req.stream.session?.socket : (req as IncomingMessage).socket) as
    | TLSSocket
    | undefined;
  if (!socket || typeof socket.getPeerCertificate !== "function") return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const cn = cert.subject?.CN;
  return {
    authorized: socket.authorized === true,
    cn: Array.isArray(cn) ? cn[0] : cn,
    uris: sanUris(cert.subjectaltname),
    fingerprint256: cert.fingerprint256,
  };
}

/**
 * URIs of Node's `subjectaltname` string (`DNS:a, URI:spiffe://td/x, …`). Node writes a value
 * containing a comma or quote as a JSON string (`URI:"…"`), which is decoded here.
 */
export function sanUris(altNames: string | undefined): string[] {
  const uris: string[] = [];
  const re = /(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (const m of (altNames ?? "").matchAll(re)) {
    const v = m[1]!;
    if (!v.startsWith('"')) uris.push(v);
    else {
      try {
        uris.push(JSON.parse(v) as string);
      } catch {
        // Not a JSON string after all: skipped (no rule can match it).
      }
    }
  }
  return uris;
}
