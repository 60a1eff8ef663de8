/**
 * Streaming over node:http for the HTTP API's routes: writes that honour back-pressure and a
 * signal for a caller that goes away; every streaming route uses these (the Anthropic Messages
 * API too, through this folder's index).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * Writes and waits when the socket's buffer is full, so a slow reader slows the upstream.
 * Writes made in the same turn of the event loop (the events of one upstream read) leave in
 * one system call: the socket is corked at the first and uncorked once the turn's callbacks
 * and promise jobs have run (`process.nextTick`), so nothing waits on a timer.
 */
export async function writeText(res: ServerResponse, text: string): Promise<void> {
  const socket = res.socket;
  if (socket && socket.writableCorked === 0 && !socket.destroyed) {
    socket.cork();
    process.nextTick(uncork, socket);
  }
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

function uncork(socket: Socket): void {
  socket.uncork();
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
