/** How an upstream attempt failed; decides failover (docs/architecture.md §6 step 6) and is recorded. */
export type UpstreamErrorClass =
  | "connect" // refused, reset before a response, DNS
  | "timeout_connect"
  | "timeout_first_token"
  | "timeout_idle"
  | "rate_limited" // 429
  | "server" // 5xx
  | "client" // 4xx caused by the request: never failed over
  | "auth" // 401/403: our credential, not the caller's request
  | "protocol" // unparseable response
  | "stream_broken" // connection lost mid-stream
  | "local_saturated" // every in-process slot busy past the queue bound (SOVR_LOCAL_QUEUE_MS)
  | "aborted"; // the caller went away

export class UpstreamError extends Error {
  constructor(
    readonly errorClass: UpstreamErrorClass,
    message: string,
    readonly status?: number,
    /** From a 429's Retry-After, for that endpoint's health. */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "UpstreamError";
  }

  /** Whether another endpoint may be tried (only before the first token reached the caller). */
  get retryable(): boolean {
    return this.errorClass !== "client" && this.errorClass !== "aborted";
  }
}

/** Classifies an upstream HTTP status. */
export function classifyStatus(status: number): UpstreamErrorClass {
  if (status === 429) return "rate_limited";
  if (status === 401 || status === 403) return "auth";
  if (status === 408) return "timeout_first_token";
  if (status >= 500) return "server";
  return "client";
}

/** Parses Retry-After (delta-seconds or HTTP-date) into milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
