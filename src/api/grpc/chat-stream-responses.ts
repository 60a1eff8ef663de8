import type { RouterEvent } from "../../routing/index.js";
import { toStreamResponse } from "./chat-responses.js";
import { toConnectError } from "./errors.js";

type Response = ReturnType<typeof toStreamResponse>;

/**
 * ChatStream's responses: the router's events, each made a response message as it comes. An
 * iterator object over the router's stream rather than an async generator of its own: a
 * generator adds a queued promise and a resumption to every message. Like the generator it
 * replaces, it starts (`start`: the request read, the router's stream opened) on the first
 * `next`, answers every error as ./errors.ts maps it, and `return` closes the router's stream.
 */
export class ChatStreamResponses implements AsyncIterableIterator<Response> {
  #events: AsyncIterator<RouterEvent> | undefined;
  #done = false;

  constructor(
    private readonly start: () => AsyncIterator<RouterEvent>,
    /** Told of the route (the first event) before its message is sent. */
    private readonly onRoute: (ev: Extract<RouterEvent, { type: "route" }>) => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Response>> {
    if (this.#done) return Promise.resolve({ done: true, value: undefined });
    let pending: Promise<IteratorResult<RouterEvent>>;
    try {
      this.#events ??= this.start();
      pending = this.#events.next();
    } catch (err) {
      this.#done = true;
      return Promise.reject(toConnectError(err));
    }
    return pending.then(this.#message, this.#failed);
  }

  return(): Promise<IteratorResult<Response>> {
    this.#done = true;
    const events = this.#events;
    if (!events?.return) return Promise.resolve({ done: true, value: undefined });
    return events.return().then(DONE, this.#failed);
  }

  readonly #message = (r: IteratorResult<RouterEvent>): IteratorResult<Response> => {
    if (r.done) {
      this.#done = true;
      return { done: true, value: undefined };
    }
    try {
      const ev = r.value;
      if (ev.type === "route") this.onRoute(ev);
      return { done: false, value: toStreamResponse(ev) };
    } catch (err) {
      // As a generator's for-await does when its body throws: the router's stream is closed.
      this.#events?.return?.().catch(ignore);
      return this.#failed(err);
    }
  };

  readonly #failed = (err: unknown): never => {
    this.#done = true;
    throw toConnectError(err);
  };
}

function DONE(): IteratorResult<Response> {
  return { done: true, value: undefined };
}

function ignore(): void {}
