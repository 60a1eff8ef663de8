import { EventEmitter, on } from "node:events";
import type { ConnectRouter } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";

/**
 * Serving status per service name ("" = the whole server), as grpc.health.v1 defines it.
 * The server flips everything to NOT_SERVING when it starts draining.
 */
export class HealthState {
  readonly #status = new Map<string, Status>();
  readonly #changes = new EventEmitter();

  constructor(services: readonly string[]) {
    this.#status.set("", Status.NOT_SERVING);
    for (const s of services) this.#status.set(s, Status.NOT_SERVING);
    this.#changes.setMaxListeners(0);
  }

  set(serving: boolean): void {
    const next = serving ? Status.SERVING : Status.NOT_SERVING;
    for (const name of this.#status.keys()) {
      if (this.#status.get(name) !== next) {
        this.#status.set(name, next);
        this.#changes.emit("change", name);
      }
    }
  }

  get(service: string): Status | undefined {
    return this.#status.get(service);
  }

  get serving(): boolean {
    return this.#status.get("") === Status.SERVING;
  }

  changes(signal: AbortSignal): AsyncIterable<unknown[]> {
    return on(this.#changes, "change", { signal });
  }
}

export function registerHealth(router: ConnectRouter, state: HealthState): void {
  router.service(Health, {
    check(req) {
      const status = state.get(req.service);
      // grpc.health.v1: Check on an unknown service is NOT_FOUND.
      if (status === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status };
    },
    async *watch(req, ctx) {
      let last = state.get(req.service) ?? Status.SERVICE_UNKNOWN;
      yield { status: last };
      try {
        for await (const _ of state.changes(ctx.signal)) {
          const now = state.get(req.service) ?? Status.SERVICE_UNKNOWN;
          if (now !== last) {
            last = now;
            yield { status: now };
          }
        }
      } catch (err) {
        if (!ctx.signal.aborted) throw err;
      }
    },
  });
}
