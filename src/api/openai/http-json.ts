/** JSON over node:http for the HTTP API's routes: bounded body reads, answers, 405 and 413. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { LIMITS } from "../../config/index.js";
import { InvalidFieldError } from "../grpc/index.js";

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (declared > limit) return reject(new BodyTooLargeError());
    const parts: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(new BodyTooLargeError());
      } else parts.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export async function methodNotAllowed(res: ServerResponse, allow: string): Promise<void> {
  sendJson(
    res,
    405,
    {
      error: {
        message: `method not allowed; use ${allow}`,
        type: "invalid_request_error",
        param: null,
        code: "method_not_allowed",
      },
    },
    { allow },
  );
}

/** The body as JSON; undefined when it was too large (413 already answered). */
export async function readJson(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number = LIMITS.requestBytes,
): Promise<unknown> {
  try {
    const raw = await readBody(req, limit);
    try {
      return JSON.parse(raw.toString("utf8")) as unknown;
    } catch {
      throw new InvalidFieldError("body", "is not valid JSON");
    }
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    const message = `request body larger than ${limit} bytes`;
    // The rest of the body is not read: close the connection after answering.
    sendJson(
      res,
      413,
      { error: { message, type: "invalid_request_error", param: null, code: "request_too_large" } },
      { connection: "close" },
    );
    return undefined;
  }
}
