import { readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The web console's Content-Security-Policy: only this origin's files run, no inline script or
 * style, fetches only to this origin (the Connect API on the same port), never framed.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** The standalone verifier: downloaded, never run from here (its script is inline: CSP refuses it). */
const STANDALONE = "sovr-verify.html";

/** `console/` at the repository root, seen from src/api/http/ and from dist/api/http/ alike. */
export function consoleDir(): string {
  return fileURLToPath(new URL("../../../console/", import.meta.url));
}

/**
 * Serves the web console (docs/console.md) under `/console/`: the static files of `dir` read
 * once at start (index.html, console.css, js/*.js, lib/*.js, the standalone verifier), with
 * the strict CSP. No authentication: the files hold no data; the page asks the user for a key
 * and calls the Connect API with it, where every call is authorised as any other.
 * Returns a handler that answers (true) or declines (false) a request.
 */
export function consoleHandler(
  dir: string = consoleDir(),
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const files = loadFiles(dir);
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path !== "/console" && !path.startsWith("/console/")) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain; charset=utf-8", Buffer.from("method not allowed\n"), {
        allow: "GET, HEAD",
      });
      return true;
    }
    const rel = path === "/console" || path === "/console/" ? "index.html" : path.slice("/console/".length);
    const body = files.get(rel);
    if (!body) {
      send(res, 404, "text/plain; charset=utf-8", Buffer.from("not found\n"));
      return true;
    }
    const extra: Record<string, string> =
      rel === STANDALONE ? { "content-disposition": `attachment; filename="${STANDALONE}"` } : {};
    send(res, 200, TYPES[extname(rel)]!, req.method === "HEAD" ? undefined : body, extra, body.length);
    return true;
  };
}

/** The console's files; a missing one stops start-up naming the directory (the image ships it). */
function loadFiles(dir: string): Map<string, Buffer> {
  try {
    return readFiles(dir);
  } catch (cause) {
    throw new Error(`the web console's files are missing from ${dir} (console/ of the repository)`, {
      cause,
    });
  }
}

function readFiles(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const add = (rel: string) => files.set(rel, readFileSync(join(dir, rel)));
  for (const name of ["index.html", "console.css", STANDALONE]) add(name);
  for (const sub of ["js", "lib"])
    for (const name of readdirSync(join(dir, sub)))
      if (name.endsWith(".js") && !name.endsWith(".test.js")) add(`${sub}/${name}`);
  return files;
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: Buffer | undefined,
  extra: Record<string, string> = {},
  length = body?.length ?? 0,
): void {
  res.writeHead(status, {
    "content-type": type,
    "content-length": length,
    "content-security-policy": CONSOLE_CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-cache",
    ...extra,
  });
  res.end(body);
}
