import { createParser, type EventSourceMessage } from "eventsource-parser";

/**
 * Turns a byte stream of Server-Sent Events into its events, one parser for every adapter:
 * the events each network chunk completes, as one batch (an adapter then walks them without
 * an asynchronous step per event). Yields as soon as a chunk completes an event; never
 * buffers more than one network chunk.
 *
 * Stopping early (the consumer returns) leaves an upstream body as it is (./upstream-body.ts):
 * the caller ends it (`OpenedResponse.release`), so a stream read to its terminal event is
 * drained, not destroyed.
 */
export async function* sseBatches(body: AsyncIterable<Uint8Array>): AsyncGenerator<EventSourceMessage[]> {
  let pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => pending.push(e) });
  const decoder = new TextDecoder();
  for await (const chunk of body) {
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
