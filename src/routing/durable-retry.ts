import type { Logger, Metrics } from "../telemetry/index.js";
import type { DecisionRecorder } from "./router.js";

/** How long an outcome record is retried: the prompt has already gone, it must not be lost. */
export const OUTCOME_RETRY_MS = 10 * 60_000;

/**
 * Retries `append` with exponential backoff (50 ms … 5 s) until it succeeds or `budgetMs`
 * passes.
 * - An attempt that ran out of time (a DeadlineError carrying the commit still at work) is
 *   waited for, not repeated: appended again, the record would be in the log twice, or — as
 *   the unique index refuses that — fail the whole batch it rides in, every time, under the
 *   very overload that made commits slow.
 * - A unique violation naming `key` (the record's decision id) means an earlier attempt did
 *   commit (its reply was lost): done. One naming another record is a batch-mate's: this record
 *   was not written, and is appended again.
 */
export async function retryUntilDurable(
  append: () => Promise<void>,
  budgetMs: number,
  onRetry: (attempt: number, err: unknown) => void,
  key?: string,
): Promise<void> {
  const deadline = Date.now() + budgetMs;
  let delay = 50;
  for (let attempt = 1; ; attempt++) {
    try {
      await append();
      return;
    } catch (caught) {
      let err = caught;
      const work = (err as { name?: string; work?: Promise<unknown> }).work;
      if ((err as { name?: string }).name === "DeadlineError" && work) {
        try {
          await work;
          return;
        } catch (late) {
          err = late;
        }
      }
      if (isOwnDuplicate(err, key)) return;
      if (Date.now() + delay > deadline) throw err;
      onRetry(attempt, err);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/** A unique violation of this record's own row (or of an unnamed row, when the error names none). */
function isOwnDuplicate(err: unknown, key: string | undefined): boolean {
  const e = err as { code?: string; detail?: string };
  if (e.code !== "23505") return false;
  return key === undefined || typeof e.detail !== "string" || e.detail.includes(`(${key},`);
}

export interface DurableRecorderOptions {
  /** Why storage is known bad now (gone, full, not taking writes), if it is. */
  storageRefusal?: () => string | undefined;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The recorder the router writes through. A decision record is refused outright while storage
 * is known bad, so the request is refused before anything goes upstream. An outcome is retried
 * (with backoff, for up to OUTCOME_RETRY_MS) until it is durable: the prompt has already gone,
 * and its outcome must not be lost to a database blip. Failures are counted and logged, never
 * with content.
 */
export function durableRecorder(inner: DecisionRecorder, opts: DurableRecorderOptions): DecisionRecorder {
  const { logger, metrics } = opts;
  return {
    recordDecision: (r, i) => {
      const refused = opts.storageRefusal?.();
      const recorded = refused ? Promise.reject(new Error(refused)) : inner.recordDecision(r, i);
      return recorded.catch((err: unknown) => {
        metrics.auditFailures.inc({ kind: "decision" });
        logger.error({ err, decisionId: r.decision_id }, "decision record not durable; request refused");
        throw err;
      });
    },
    recordOutcome: (r, settle) =>
      retryUntilDurable(
        () => inner.recordOutcome(r, settle),
        OUTCOME_RETRY_MS,
        (attempt, err) => {
          if (attempt === 1)
            logger.warn({ err, decisionId: r.decision_id }, "outcome record not yet durable; retrying");
        },
        r.decision_id,
      ).catch((err: unknown) => {
        metrics.auditFailures.inc({ kind: "outcome" });
        logger.error({ err, decisionId: r.decision_id }, "outcome record not durable");
        throw err;
      }),
  };
}
