import type { Logger, Metrics } from "../telemetry/index.js";
import type { DecisionRecorder } from "./router.js";

/** How long an outcome record is retried: the prompt has already gone, it must not be lost. */
export const OUTCOME_RETRY_MS = 10 * 60_000;

/**
 * Retries `append` with exponential backoff (50 ms … 5 s) until it succeeds or `budgetMs`
 * passes. A unique violation means an earlier attempt did commit (the reply was lost): done.
 */
export async function retryUntilDurable(
  append: () => Promise<void>,
  budgetMs: number,
  onRetry: (attempt: number, err: unknown) => void,
): Promise<void> {
  const deadline = Date.now() + budgetMs;
  let delay = 50;
  for (let attempt = 1; ; attempt++) {
    try {
      await append();
      return;
    } catch (err) {
      if ((err as { code?: string }).code === "23505") return;
      if (Date.now() + delay > deadline) throw err;
      onRetry(attempt, err);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
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
      ).catch((err: unknown) => {
        metrics.auditFailures.inc({ kind: "outcome" });
        logger.error({ err, decisionId: r.decision_id }, "outcome record not durable");
        throw err;
      }),
  };
}
