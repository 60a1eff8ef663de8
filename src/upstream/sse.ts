import { createParser, type EventSourceMessage } from "eventsource-parser";

/**
 * Turns a byte stream of Server-Sent Events into its events, one parser for every adapter.
 * Yields as soon as an event is complete; never buffers more than one network chunk.
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<EventSourceMessage> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (e) => pending.push(e) });
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    while (pending.length > 0) yield pending.shift()!;
  }
  parser.feed(decoder.decode());
  while (pending.length > 0) yield pending.shift()!;
}
