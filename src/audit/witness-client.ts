/**
 * The log as a C2SP tlog-witness client (c2sp.org/tlog-witness): each checkpoint the
 * checkpointer signs is offered to every configured witness with `add-checkpoint` (the size the
 * witness holds, a consistency proof from it, the signed note), and the cosignature it returns
 * is verified against its pinned verifier key and stored.
 *
 * Never in the way of routing: `submit` returns at once; each witness has one request in flight
 * and only the newest waiting checkpoint (older ones are skipped — the newest one's cosignature
 * vouches for them). A 409 answer names the size the witness holds: the request is made again
 * from that size. Network errors and 5xx are retried a bounded number of times with backoff;
 * every failure is logged and left for the next checkpoint.
 */

import { type CosignatureVerifier, cosignatureTime, cosigners, parseCosignerKey } from "./cosignature.js";
import type { StoredCosignature } from "./cosignature-store.js";
import { NoteError, parseNote } from "./note.js";
import { formatAddCheckpoint, parseSizeBody } from "./witness-protocol.js";

/** A witness as configured (SOVR_WITNESSES): its name, submission prefix and verifier key. */
export interface WitnessEndpoint {
  name: string;
  url: string;
  vkey: string;
}

export interface WitnessClientDeps {
  consistencyProof(m: number, n: number): Promise<Uint8Array[]>;
  save(c: StoredCosignature): Promise<void>;
  logger?: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
  };
  /** Attempts per checkpoint and witness, 409 re-tries included (default 4). */
  attempts?: number;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  /** First backoff after a network error or 5xx, doubled each time (default 250 ms). */
  backoffMs?: number;
}

interface Offered {
  size: number;
  signedNote: string;
}

interface WitnessState {
  endpoint: WitnessEndpoint;
  verifier: CosignatureVerifier;
  /** The size the witness holds, as far as we know (from its 200 or 409 answers). */
  known: number;
  next?: Offered;
  running?: Promise<void>;
}

export class WitnessClient {
  readonly #witnesses: WitnessState[];

  constructor(
    endpoints: readonly WitnessEndpoint[],
    private readonly deps: WitnessClientDeps,
  ) {
    this.#witnesses = endpoints.map((endpoint) => {
      const verifier = parseCosignerKey(endpoint.vkey);
      if (verifier.name !== endpoint.name)
        throw new NoteError(`witness ${endpoint.name}: its verifier key is named ${verifier.name}`);
      return { endpoint, verifier, known: 0 };
    });
  }

  /** Offers the checkpoint to every witness, in the background. */
  submit(cp: Offered): void {
    for (const w of this.#witnesses) {
      if (w.next && w.next.size >= cp.size) continue;
      w.next = cp;
      w.running ??= this.#drain(w).finally(() => {
        w.running = undefined;
      });
    }
  }

  /** Resolves when no request is in flight or waiting (tests; shutdown). */
  async settled(): Promise<void> {
    while (this.#witnesses.some((w) => w.running)) await Promise.all(this.#witnesses.map((w) => w.running));
  }

  async #drain(w: WitnessState): Promise<void> {
    for (let cp = w.next; cp; cp = w.next) {
      w.next = undefined;
      await this.#offer(w, cp).catch((err: unknown) =>
        this.deps.logger?.warn(
          { err, witness: w.endpoint.name, size: cp?.size },
          "witness: add-checkpoint failed",
        ),
      );
    }
  }

  async #offer(w: WitnessState, cp: Offered): Promise<void> {
    const log = (msg: string, extra: object = {}) =>
      this.deps.logger?.warn({ witness: w.endpoint.name, size: cp.size, ...extra }, `witness: ${msg}`);
    const attempts = this.deps.attempts ?? 4;
    let backoff = this.deps.backoffMs ?? 250;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (w.known > cp.size) {
        // Another replica (or a later checkpoint) got there first; nothing to prove from here.
        this.deps.logger?.info(
          { witness: w.endpoint.name, size: cp.size, held: w.known },
          "witness: holds a larger checkpoint",
        );
        return;
      }
      const proof = w.known === 0 ? [] : await this.deps.consistencyProof(w.known, cp.size);
      let res: Response;
      try {
        res = await fetch(`${w.endpoint.url.replace(/\/+$/, "")}/add-checkpoint`, {
          method: "POST",
          body: formatAddCheckpoint({ oldSize: w.known, proof, note: cp.signedNote }),
          signal: AbortSignal.timeout(this.deps.timeoutMs ?? 10_000),
        });
      } catch (err) {
        log("unreachable", { attempt, err: (err as Error).message });
        await sleep(backoff);
        backoff *= 2;
        continue;
      }
      const body = await res.text();
      if (res.status === 409) {
        const held = parseSizeBody(body);
        if (held === undefined) return log("409 without a size");
        w.known = held;
        continue;
      }
      if (res.status >= 500) {
        log(`answered ${res.status}`, { attempt });
        await sleep(backoff);
        backoff *= 2;
        continue;
      }
      if (res.status !== 200)
        // 4xx other than 409: the witness refuses this checkpoint (422: not consistent with
        // what it cosigned — a split view, if the log is not at fault here). Not retried.
        return log(`refused the checkpoint (${res.status})`, { reason: body.slice(0, 200) });
      await this.#keep(w, cp, body);
      w.known = cp.size;
      return;
    }
    log(`gave up after ${attempts} attempts`);
  }

  async #keep(w: WitnessState, cp: Offered, body: string): Promise<void> {
    const { text } = parseNote(cp.signedNote);
    const lines = body.split("\n").filter((l) => l !== "");
    for (const line of lines) {
      let sig: ReturnType<typeof parseNote>["signatures"][number] | undefined;
      try {
        sig = parseNote(`${text}\n${line}\n`).signatures[0];
      } catch {
        continue;
      }
      if (!sig || cosigners(text, [sig], [w.verifier]).names.length !== 1) continue;
      await this.deps.save({
        size: cp.size,
        witness: w.verifier.vkey,
        signature: line,
        cosignedAt: new Date(cosignatureTime(sig) * 1000),
      });
      this.deps.logger?.info({ witness: w.endpoint.name, size: cp.size }, "witness: cosigned");
      return;
    }
    throw new NoteError("the witness's answer holds no cosignature by its key");
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
