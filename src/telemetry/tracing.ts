import type { Attributes, Span } from "@opentelemetry/api";
import type { TracingConfig } from "../config/index.js";

export type { Span };

/**
 * Traces of requests (OpenTelemetry), or nothing. Callers test {@link Tracing.enabled} first:
 * with tracing off that one boolean is the whole cost — no SDK is loaded (./tracing-sdk.ts is
 * imported only by {@link startTracing} when tracing is configured), no span, context or
 * header is made, and no AsyncLocalStorage is entered.
 *
 * Spans carry ids, names, counts and classes only: never a prompt, completion, tool argument,
 * key or header value (docs/operations.md, "Traces").
 */
export interface Tracing {
  readonly enabled: boolean;
  /**
   * Runs `fn` (a request's handling) inside a server span whose parent is the caller's W3C
   * `traceparent`, when it sent one. Spans started by {@link child} during `fn` — across
   * awaits — are its children.
   */
  serve<T>(
    name: string,
    headers: Readonly<Record<string, unknown>>,
    attributes: Attributes,
    fn: (span: Span) => T,
  ): T;
  /**
   * A span under the current request's span, or undefined outside a traced request; `client`
   * for a call that leaves the process (an upstream attempt).
   */
  child(name: string, attributes?: Attributes, kind?: "internal" | "client"): Span | undefined;
  /** The `traceparent` header naming `span` as the parent, for an upstream call. */
  traceparent(span: Span): string | undefined;
  /** The trace id of the current request, for log lines. */
  traceId(): string | undefined;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

/** Tracing off: every method is inert; callers do not reach them past `enabled`. */
export const TRACING_OFF: Tracing = Object.freeze({
  enabled: false,
  serve: <T>(_n: string, _h: Readonly<Record<string, unknown>>, _a: Attributes, fn: (span: Span) => T): T =>
    fn(undefined as unknown as Span),
  child: () => undefined,
  traceparent: () => undefined,
  traceId: () => undefined,
  shutdown: async () => {},
});

/** Tracing as configured (config/tracing-config.ts): the SDK is loaded only when it is on. */
export async function startTracing(config: TracingConfig | undefined): Promise<Tracing> {
  if (!config) return TRACING_OFF;
  const { createTracing } = await import("./tracing-sdk.js");
  return createTracing(config);
}

/** Ends `span` as failed with an error class (never an error message: it may quote content). */
export function failSpan(span: Span, errorClass: string): void {
  span.setAttribute("error.type", errorClass);
  span.setStatus({ code: 2 /* SpanStatusCode.ERROR */ });
}
