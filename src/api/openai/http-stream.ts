/**
 * Streaming over node:http for the HTTP API's routes: writes that honour back-pressure and a
 * signal for a caller that goes away; every streaming route uses these (the Anthropic Messages
 * API too, through this folder's index).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Writes and waits when the socket's buffer is full, so a slow reader slows the upstream. */
export async function writeText(res: ServerResponse, text: string): Promise<void> {
  if (res.write(text) || res.destroyed) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** Aborted when the caller goes away before the response is complete. */
export function callerSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) ac.abort();
  });
  req.on("aborted", () => ac.abort());
  return ac.signal;
}
