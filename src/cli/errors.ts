/**
 * Errors of the `sovr` command in words: the status by name (`permission denied: …`, never
 * `… (7)`), and the fix where we know it — set SOVR_KEY, use the HTTP port, start the server.
 * Every command's failure goes through {@link describeError} (main.ts, and the audit commands'
 * runner), so the wording is decided here once.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { DEFAULT_SOVR_URL } from "./connect-client.js";

/** `Code.PermissionDenied` → "permission denied". */
export function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

/** Node error codes of a connection that reached something which does not speak HTTP/1.1. */
const NOT_HTTP1 = new Set(["EPIPE", "ECONNRESET", "HPE_INVALID_CONSTANT", "HPE_INVALID_VERSION"]);

function causeCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (typeof e.code === "string") return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

function serverUrl(env: NodeJS.ProcessEnv): string {
  return env.SOVR_URL ?? DEFAULT_SOVR_URL;
}

/** SOVR_URL with its port replaced by the HTTP port the gRPC port named. */
function withPort(url: string, port: string): string {
  try {
    const u = new URL(url);
    u.port = port;
    return u.origin;
  } catch {
    return `http://127.0.0.1:${port}`;
  }
}

/** One line saying what failed and, where known, what to do about it. */
export function describeError(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const url = serverUrl(env);
  const metadata = err instanceof ConnectError ? err.metadata : undefined;
  if (metadata?.get("sovr-port") === "grpc") {
    const port = metadata.get("sovr-http-port") ?? "";
    return `${url} is the gRPC port; use the HTTP port: set SOVR_URL=${port ? withPort(url, port) : "http://<host>:<SOVR_HTTP_PORT>"}`;
  }
  const netCode = causeCode(err);
  if (netCode === "ECONNREFUSED")
    return `unavailable: nothing listens at ${url} (connection refused): start \`sovr serve\`, or set SOVR_URL to its HTTP port (default ${DEFAULT_SOVR_URL})`;
  if (netCode !== undefined && NOT_HTTP1.has(netCode))
    return `unavailable: ${url} did not answer HTTP/1.1 (${netCode}); is it the gRPC port? set SOVR_URL to the HTTP port (SOVR_HTTP_PORT, default 8080)`;
  if (!(err instanceof ConnectError)) return err instanceof Error ? err.message : String(err);
  const said = `${codeName(err.code)}: ${err.rawMessage}`;
  if (err.code === Code.Unauthenticated)
    return env.SOVR_KEY
      ? `${said}; SOVR_KEY is not a valid key of this server (mistyped, revoked or from another server): set SOVR_KEY to one (\`sovr keys create\`)`
      : `${said}; set SOVR_KEY to an API key (\`sovr keys create --tenant T --role auditor\`, or the development key printed on first start)`;
  if (err.code === Code.PermissionDenied)
    return `${said} (the key in SOVR_KEY lacks the role or tenant for this)`;
  return said;
}

/** An HTTP status of an HTTP-only admin route as a ConnectError, so it is worded the same way. */
export function httpStatusError(status: number, message: string, headers: Headers): ConnectError {
  const code =
    status === 401
      ? Code.Unauthenticated
      : status === 403
        ? Code.PermissionDenied
        : status === 400
          ? Code.InvalidArgument
          : status === 429
            ? Code.ResourceExhausted
            : status >= 500
              ? Code.Unavailable
              : Code.Unknown;
  return new ConnectError(message, code, headers);
}
