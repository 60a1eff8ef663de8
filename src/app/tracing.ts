import type { Principal } from "../auth/index.js";
import { isLocalHost } from "../catalog/index.js";
import type { TracePropagation } from "../config/index.js";
import type { PolicyEvaluation } from "../policy/index.js";
import type {
  DecisionRecorder,
  EmbeddingOutcome,
  RouteRequest,
  Router,
  RouterDeps,
  RouterEvent,
} from "../routing/index.js";
import { failSpan, type Span, type Tracing } from "../telemetry/index.js";
import type { UpstreamAdapter, UpstreamCallOptions, UpstreamTarget } from "../upstream/index.js";

/**
 * The spans of a routed request, put around the router's parts where they are wired: policy
 * evaluation, the durable append, each upstream attempt (which also carries `traceparent`
 * upstream), and the router's stream. Built only when tracing is on (buildRouter), so with
 * tracing off none of this is on the path. Attributes are ids, names, counts and error
 * classes: never content, keys or error messages.
 */
export function tracedRouterDeps(
  deps: RouterDeps,
  tracing: Tracing,
  propagation: TracePropagation,
): RouterDeps {
  const adapters: Record<string, UpstreamAdapter> = {};
  for (const [api, a] of Object.entries(deps.adapters))
    adapters[api] = tracedAdapter(api, a, tracing, propagation);
  return {
    ...deps,
    adapters,
    recorder: tracedRecorder(deps.recorder, tracing),
    policy: {
      activeBundle: () => deps.policy.activeBundle(),
      evaluate: (input) =>
        traced(tracing, "sovr.policy", {}, () => deps.policy.evaluate(input), policyAttributes),
    },
  };
}

function policyAttributes(span: Span, ev: PolicyEvaluation): void {
  span.setAttribute("sovr.policy.bundle", ev.bundle.revision);
  // The decision is the one an earlier evaluation of the same reduced input gave (decision cache).
  if (ev.cached) span.setAttribute("sovr.policy.cached", true);
}

function tracedRecorder(recorder: DecisionRecorder, tracing: Tracing): DecisionRecorder {
  return {
    recordDecision: (record, index) =>
      traced(
        tracing,
        "sovr.append",
        {
          "sovr.decision_id": record.decision_id,
          "sovr.tenant": index.tenant,
          "sovr.decision.outcome": index.outcome,
        },
        () => recorder.recordDecision(record, index),
      ),
    recordOutcome: (record) => recorder.recordOutcome(record),
  };
}

/** A span per upstream call; its `traceparent` goes to the upstreams the setting allows. */
function tracedAdapter(
  api: string,
  adapter: UpstreamAdapter,
  tracing: Tracing,
  propagation: TracePropagation,
): UpstreamAdapter {
  const start = (target: UpstreamTarget, model: string, opts: UpstreamCallOptions) => {
    const host = hostOf(target.baseUrl);
    const span = tracing.child(
      "sovr.upstream.attempt",
      {
        "sovr.api": api,
        "server.address": host ?? "",
        "gen_ai.request.model": model,
        ...(opts.requestId ? { "sovr.decision_id": opts.requestId } : {}),
      },
      "client",
    );
    const send =
      span &&
      api !== "local" &&
      (propagation === "all" || (propagation === "local" && host !== undefined && isLocalHost(host)));
    return { span, opts: send ? { ...opts, traceparent: tracing.traceparent(span) } : opts };
  };
  return {
    async *stream(target, req, opts) {
      const { span, opts: o } = start(target, req.model, opts);
      try {
        yield* adapter.stream(target, req, o);
      } catch (err) {
        if (span) failSpan(span, errorClass(err));
        throw err;
      } finally {
        span?.end();
      }
    },
    ...(adapter.embed
      ? {
          embed: async (target, req, opts) => {
            const { span, opts: o } = start(target, req.model, opts);
            try {
              return await adapter.embed!(target, req, o);
            } catch (err) {
              if (span) failSpan(span, errorClass(err));
              throw err;
            } finally {
              span?.end();
            }
          },
        }
      : {}),
    close: () => adapter.close(),
  };
}

/**
 * `Base` (the router, or a router that wraps it, such as the token-limited one) with a span over
 * each routed stream (decision → last chunk) and embedding.
 */
// biome-ignore lint/suspicious/noExplicitAny: a mixin's constructor takes its base's arguments
export function withTracing<B extends new (...args: any[]) => Router>(Base: B, tracing: Tracing): B {
  return class TracedRouter extends Base {
    override async *stream(
      req: RouteRequest,
      principal: Principal,
      signal?: AbortSignal,
    ): AsyncGenerator<RouterEvent> {
      const span = tracing.child("sovr.stream", { "sovr.operation": "chat" });
      let chunks = 0;
      try {
        for await (const ev of super.stream(req, principal, signal)) {
          if (span && ev.type === "route") {
            span.setAttribute("sovr.decision_id", ev.decisionId);
            span.setAttribute("sovr.endpoint", ev.endpoint.id);
            span.setAttribute("sovr.attempt", ev.attempt);
          } else if (span && ev.type === "finish") {
            span.setAttribute("gen_ai.usage.input_tokens", ev.usage.promptTokens);
            span.setAttribute("gen_ai.usage.output_tokens", ev.usage.completionTokens);
            span.setAttribute("gen_ai.response.finish_reasons", [ev.finishReason]);
          } else chunks++;
          yield ev;
        }
      } catch (err) {
        if (span) {
          failSpan(span, errorClass(err));
          const decisionId = (err as { decisionId?: unknown }).decisionId;
          if (typeof decisionId === "string") span.setAttribute("sovr.decision_id", decisionId);
        }
        throw err;
      } finally {
        span?.setAttribute("sovr.chunks", chunks);
        span?.end();
      }
    }

    override async embed(
      req: RouteRequest,
      principal: Principal,
      signal?: AbortSignal,
    ): Promise<EmbeddingOutcome> {
      return traced(
        tracing,
        "sovr.stream",
        { "sovr.operation": "embedding" },
        () => super.embed(req, principal, signal),
        (span, out) => {
          span.setAttribute("sovr.decision_id", out.decisionId);
          span.setAttribute("sovr.endpoint", out.endpoint.id);
          span.setAttribute("sovr.attempt", out.attempt);
        },
      );
    }
  };
}

/** `fn` inside a child span of the current request (none outside one), ended when it settles. */
async function traced<T>(
  tracing: Tracing,
  name: string,
  attributes: Record<string, string>,
  fn: () => Promise<T>,
  after?: (span: Span, result: T) => void,
): Promise<T> {
  const span = tracing.child(name, attributes);
  if (!span) return fn();
  try {
    const out = await fn();
    after?.(span, out);
    return out;
  } catch (err) {
    failSpan(span, errorClass(err));
    throw err;
  } finally {
    span.end();
  }
}

/** An error's class for a span: our typed errors' class or name, never their message. */
function errorClass(err: unknown): string {
  const e = err as { errorClass?: unknown; name?: unknown } | undefined;
  if (typeof e?.errorClass === "string") return e.errorClass;
  return typeof e?.name === "string" ? e.name : "error";
}

function hostOf(baseUrl: string): string | undefined {
  try {
    return new URL(baseUrl).hostname;
  } catch {
    return undefined;
  }
}
