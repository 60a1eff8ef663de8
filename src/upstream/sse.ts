import type { Readable } from "node:stream";
import { createParser, type EventSourceMessage } from "eventsource-parser";

/**
 * Turns a byte stream of Server-Sent Events into its events, one parser for every adapter:
 * the events each network chunk completes, as one batch (an adapter then walks them without
 * an asynchronous step per event). Yields as soon as a chunk completes an event; never
 * buffers more than one network chunk.
 *
 * Stopping early (the consumer returns) leaves a Node stream as it is: the caller ends it
 * (`OpenedResponse.release`), so a stream read to its terminal event is not destroyed with an
 * AbortError (Node's default for a `for await` left early, with a stack trace per call).
 */
export async function* sseBatches(body: AsyncIterable<Uint8Array>): AsyncGenerator<EventSourceMessage[]> {
  let pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => pending.push(e) });
  const decoder = new TextDecoder();
  const chunks = isReadable(body) ? body.iterator({ destroyOnReturn: false }) : body;
  for await (const chunk of chunks) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    if (pending.length > 0) {
      const batch = pending;
      pending = [];
      yield batch;
    }
  }
  parser.feed(decoder.decode());
  if (pending.length > 0) yield pending;
}

function isReadable(body: AsyncIterable<Uint8Array>): body is AsyncIterable<Uint8Array> & Readable {
  return typeof (body as Partial<Readable>).iterator === "function";
}
