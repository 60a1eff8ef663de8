/**
 * Key expiry into the admin trail. An expiry is not an action anyone takes: the key stops
 * working when its time passes (auth checks the clock on every request). So a sweep, every
 * `everyMs`, writes a `key.expire` admin record (actor: the router) for each key whose expiry
 * has passed and is not recorded yet. A key is claimed first (`expiry_recorded_at`, one UPDATE,
 * so of several replicas one records it) and released again if its record cannot be committed,
 * for the next sweep to retry. A revoked key's revocation is its record; it is not swept.
 */
import { sql } from "kysely";
import { type AdminTrail, SYSTEM_ACTOR } from "../audit/index.js";
import type { DatabaseHandle } from "../db/index.js";
import type { Logger } from "../telemetry/index.js";

export class KeyExpiryTrail {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(
    private readonly db: DatabaseHandle,
    private readonly trail: AdminTrail,
    private readonly logger: Logger,
  ) {}

  /** Records every expiry that has passed and is not recorded; resolves to how many it recorded. */
  sweep(): Promise<number> {
    this.#running ??= this.#sweep().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  start(everyMs: number): void {
    this.#timer = setInterval(() => {
      this.sweep().catch((err: unknown) =>
        this.logger.warn({ err: (err as Error).name }, "key expiry sweep failed; retried on the next"),
      );
    }, everyMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running?.catch(() => {});
  }

  async #sweep(): Promise<number> {
    const claimed = await this.db.db
      .updateTable("api_keys")
      .set({ expiry_recorded_at: sql<Date>`now()` })
      .where("expires_at", "<=", sql<Date>`now()`)
      .where("expiry_recorded_at", "is", null)
      .where("revoked_at", "is", null)
      .returning(["key_id", "tenant"])
      .execute();
    let recorded = 0;
    for (const k of claimed) {
      try {
        await this.trail.record(SYSTEM_ACTOR, {
          tenant: k.tenant,
          action: "key.expire",
          target: { key_id: k.key_id },
        });
        recorded++;
      } catch (err) {
        await this.db.db
          .updateTable("api_keys")
          .set({ expiry_recorded_at: null })
          .where("key_id", "=", k.key_id)
          .execute();
        throw err;
      }
    }
    return recorded;
  }
}

/** How often expiries are swept into the log: a key.expire record follows its expiry within this. */
export const KEY_EXPIRY_SWEEP_MS = 5000;

/** The sweep, started (after a first one at start) and stopped with the app. */
export async function startKeyExpiryTrail(
  db: DatabaseHandle,
  trail: AdminTrail,
  logger: Logger,
  cleanups: { name: string; run: () => unknown }[],
): Promise<KeyExpiryTrail> {
  const sweeper = new KeyExpiryTrail(db, trail, logger);
  await sweeper.sweep();
  sweeper.start(KEY_EXPIRY_SWEEP_MS);
  cleanups.push({ name: "key expiry sweep", run: () => sweeper.stop() });
  return sweeper;
}
