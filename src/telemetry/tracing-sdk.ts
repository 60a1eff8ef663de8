import { AsyncLocalStorage } from "node:async_hooks";
import {
  type Attributes,
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import type { TracingConfig } from "../config/index.js";
import type { Tracing } from "./tracing.js";

/**
 * The OpenTelemetry SDK behind {@link Tracing}; loaded by `startTracing` only when tracing is
 * on. Nothing is registered globally (no global tracer provider, context manager or
 * propagator): the current request's context lives in this module's own AsyncLocalStorage,
 * so several servers in one process (the tests) do not see each other's spans.
 */
export function createTracing(config: TracingConfig): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      ...config.resourceAttributes,
      "service.name": config.serviceName,
    }),
    sampler: sampler(config.sampler),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({
          url: config.url,
          headers: { ...config.headers },
          timeoutMillis: config.timeoutMs,
        }),
      }),
    ],
  });
  const tracer = provider.getTracer("sovr");
  const propagator = new W3CTraceContextPropagator();
  const current = new AsyncLocalStorage<Context>();
  return {
    enabled: true,
    serve(name, headers, attributes, fn) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
      return current.run(trace.setSpan(parent, span), () => fn(span));
    },
    child(name: string, attributes?: Attributes, kind?: "internal" | "client"): Span | undefined {
      const ctx = current.getStore();
      if (!ctx) return undefined;
      return tracer.startSpan(
        name,
        { attributes, kind: kind === "client" ? SpanKind.CLIENT : SpanKind.INTERNAL },
        ctx,
      );
    },
    traceparent(span) {
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
      return carrier.traceparent;
    },
    traceId() {
      const ctx = current.getStore();
      return ctx ? trace.getSpanContext(ctx)?.traceId : undefined;
    },
    shutdown: () => provider.shutdown(),
  };
}

function sampler(s: TracingConfig["sampler"]): Sampler {
  const root =
    s.kind === "always_on"
      ? new AlwaysOnSampler()
      : s.kind === "always_off"
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(s.ratio);
  return s.parentBased ? new ParentBasedSampler({ root }) : root;
}
