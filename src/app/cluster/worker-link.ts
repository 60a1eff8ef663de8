import { isOurs, type PrimaryMessage, type SharedTopic, type Topic, type WorkerMessage } from "./messages.js";

/** The IPC end a worker has (node:cluster gives a worker `process.send` and its 'message's). */
export interface Channel {
  send?(message: unknown): boolean;
  on(event: "message", listener: (m: unknown) => void): unknown;
  off(event: "message", listener: (m: unknown) => void): unknown;
}

type Handler = (payload: unknown) => unknown;

/**
 * A worker's side of the cluster (./primary.ts): it broadcasts a change made here so every worker
 * makes it, in one order, and answers the primary's notices and metric samples. A broadcast
 * resolves with what this worker's own handler returned, once every worker has handled it;
 * it rejects with this worker's error, or naming the workers that failed.
 */
export class WorkerLink {
  readonly #handlers = new Map<Topic, Handler>();
  readonly #shared = new Map<SharedTopic, (payload: unknown) => void>();
  /** This worker's own outcome of each of its broadcasts, until the primary says all are done. */
  readonly #own = new Map<number, { value?: unknown; error?: unknown }>();
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  #next = 0;
  #sample: (() => Promise<unknown[]>) | undefined;

  constructor(private readonly channel: Channel = process) {
    channel.on("message", this.#onMessage);
  }

  /** What a notice of `topic` does here (for this worker's own broadcasts too). */
  on(topic: Topic, handler: Handler): void {
    this.#handlers.set(topic, handler);
  }

  /** What this worker does with what another one shares. */
  onShared(topic: SharedTopic, handler: (payload: unknown) => void): void {
    this.#shared.set(topic, handler);
  }

  /** Tells every other worker, without waiting for them (nothing is lost if one is gone). */
  share(topic: SharedTopic, payload: unknown): void {
    this.#send({ sovr: "share", topic, payload });
  }

  /** Where this worker's metrics come from when the primary samples them. */
  sampleWith(sample: () => Promise<unknown[]>): void {
    this.#sample = sample;
  }

  ready(): void {
    this.#send({ sovr: "ready" });
  }

  broadcast<T>(topic: Topic, payload: unknown): Promise<T> {
    const id = this.#next++;
    this.#own.set(id, {});
    return this.#ask<T>(id, { sovr: "broadcast", id, topic, payload });
  }

  /** Every worker's metrics summed (the primary asks each and adds them up). */
  clusterMetrics(): Promise<string> {
    const id = this.#next++;
    return this.#ask<string>(id, { sovr: "metrics", id });
  }

  close(): void {
    this.channel.off("message", this.#onMessage);
    for (const p of this.#pending.values()) p.reject(new Error("the worker is stopping"));
    this.#pending.clear();
  }

  #ask<T>(id: number, message: WorkerMessage): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (!this.#send(message)) {
        this.#pending.delete(id);
        this.#own.delete(id);
        reject(new Error("the cluster's primary is gone"));
      }
    });
  }

  #send(message: WorkerMessage): boolean {
    try {
      return this.channel.send?.(message) ?? false;
    } catch {
      return false;
    }
  }

  readonly #onMessage = (m: unknown): void => {
    if (!isOurs<PrimaryMessage>(m)) return;
    switch (m.sovr) {
      case "notice":
        void this.#notice(
          m.id,
          m.topic,
          m.payload,
          m.yours === undefined ? undefined : this.#own.get(m.yours),
        );
        return;
      case "broadcasted": {
        const p = this.#pending.get(m.id);
        const own = this.#own.get(m.id);
        this.#pending.delete(m.id);
        this.#own.delete(m.id);
        if (!p) return;
        if (own?.error !== undefined) p.reject(own.error);
        else if (m.errors.length > 0) p.reject(new Error(`not made in every worker: ${m.errors.join("; ")}`));
        else p.resolve(own?.value);
        return;
      }
      case "sample":
        void this.#answerSample(m.id);
        return;
      case "shared":
        this.#shared.get(m.topic)?.(m.payload);
        return;
      case "metrics": {
        const p = this.#pending.get(m.id);
        this.#pending.delete(m.id);
        if (m.text !== undefined) p?.resolve(m.text);
        else p?.reject(new Error(m.error ?? "no metrics"));
        return;
      }
    }
  };

  /** Handles a notice; `own` is where the outcome goes when the broadcast is this worker's. */
  async #notice(
    id: number,
    topic: Topic,
    payload: unknown,
    own: { value?: unknown; error?: unknown } | undefined,
  ): Promise<void> {
    let error: string | undefined;
    try {
      const handler = this.#handlers.get(topic);
      if (!handler) throw new Error(`no handler for ${topic}`);
      const value = await handler(payload);
      if (own) own.value = value;
    } catch (err) {
      if (own) own.error = err;
      error = err instanceof Error ? err.message : String(err);
    }
    this.#send({ sovr: "noticed", id, ...(error === undefined ? {} : { error }) });
  }

  async #answerSample(id: number): Promise<void> {
    try {
      if (!this.#sample) throw new Error("no metrics here");
      this.#send({ sovr: "sampled", id, metrics: await this.#sample() });
    } catch (err) {
      this.#send({ sovr: "sampled", id, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
