import { readFile } from "node:fs/promises";
import type { SecureServerOptions } from "node:http2";

/** PEM file paths for the gRPC port (`SOVR_TLS_CERT`, `SOVR_TLS_KEY`, `SOVR_TLS_CA`). */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** With a CA bundle, every client must present a certificate it signed (mTLS). */
  readonly caFile: string | undefined;
  /**
   * "optional": a client without a certificate is let through the handshake (it must then bring
   * a bearer credential); one that presents a certificate the CA did not sign completes the
   * handshake but every call on it is refused (./peer-certificate.ts). Default "required".
   */
  readonly clientCert?: "required" | "optional";
}

export class TlsConfigError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`TLS ${file}: ${message}`);
    this.name = "TlsConfigError";
  }
}

async function pem(file: string, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new TlsConfigError(file, `cannot read the ${what}: ${(err as Error).message}`);
  }
  if (!bytes.includes("-----BEGIN ")) throw new TlsConfigError(file, `the ${what} is not PEM`);
  return bytes;
}

/**
 * Options for `http2.createSecureServer` on the gRPC port:
 *
 * - ALPN offers `h2` only and `allowHTTP1` is false: gRPC needs HTTP/2, and a port that speaks
 *   exactly one protocol has one behaviour to reason about (the HTTP/1.1 API has its own port).
 * - TLS 1.2 at least (RFC 9113 §9.2 requires 1.2+ for HTTP/2; Node's cipher defaults already
 *   satisfy its cipher-suite blocklist).
 * - With a CA: `requestCert` + `rejectUnauthorized`, so a client without a certificate, or with
 *   one that does not chain to that CA, fails the handshake before any request is read.
 *   With `clientCert: "optional"` only `requestCert`: a client without one gets in (and needs a
 *   bearer credential); a call on a connection with an untrusted one is refused by authorize().
 *
 * Files are read once at start-up; a missing or non-PEM file stops start-up naming the file.
 * Renewal re-reads them without a restart (./tls-reload.ts, docs/security.md §5).
 */
export async function loadTlsOptions(files: TlsFiles): Promise<SecureServerOptions> {
  const [cert, key, ca] = await Promise.all([
    pem(files.certFile, "certificate"),
    pem(files.keyFile, "private key"),
    files.caFile ? pem(files.caFile, "client CA bundle") : undefined,
  ]);
  const mtls = ca !== undefined;
  const optional = mtls && files.clientCert === "optional";
  return {
    cert,
    key,
    ...(mtls ? { ca } : {}),
    requestCert: mtls,
    // Optional mode: Node then also admits an untrusted certificate, so every call carrying one is
    // refused before it is read (peer-certificate.ts → authorize()).
    rejectUnauthorized: mtls && !optional,
    allowHTTP1: false,
    ALPNProtocols: ["h2"],
    minVersion: "TLSv1.2",
  };
}
