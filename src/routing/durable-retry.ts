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
