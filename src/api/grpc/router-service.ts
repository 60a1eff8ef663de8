import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Principal } from "../../auth/index.js";
import { DEFAULT_REQUEST_LIMITS, type RequestLimits } from "../../config/index.js";
import type { RouterService } from "../../gen/sovereign/v1/router_pb.js";
import type { Router } from "../../routing/index.js";
import { fromProtoChatRequest } from "./chat-request.js";
import { ChatResponseBuilder, UNAPPLIED_HEADER } from "./chat-responses.js";
import { ChatStreamResponses } from "./chat-stream-responses.js";
import { noteModel, principalKey } from "./context.js";
import { embedRpc } from "./embed-rpc.js";
import { candidateMessages, InvalidFieldError, toConnectError } from "./errors.js";
import { reportReceipt } from "./receipt-metadata.js";

function withWorkload(p: Principal, workload: string): Principal {
  return workload ? { ...p, workload } : p;
}

/** RouterService: Chat, ChatStream, Explain and Embed (./embed-rpc.ts) over the {@link Router}. */
export class RouterServiceImpl implements ServiceImpl<typeof RouterService> {
  constructor(
    private readonly router: Router,
    private readonly limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
  ) {}

  chatStream(
    req: Parameters<ServiceImpl<typeof RouterService>["chatStream"]>[0],
    ctx: Parameters<ServiceImpl<typeof RouterService>["chatStream"]>[1],
  ) {
    // Started on the first message asked for, as a generator would be.
    const start = () => {
      const route = fromProtoChatRequest(req, { requireMessages: true, limits: this.limits });
      noteModel(ctx, route.model);
      const principal = withWorkload(ctx.values.get(principalKey), route.workload);
      return this.router.stream(route, principal, ctx.signal);
    };
    // The route is the first message: its headers are not sent before it.
    return new ChatStreamResponses(start, (ev) => reportRoute(ctx, ev));
  }

  async chat(
    req: Parameters<ServiceImpl<typeof RouterService>["chat"]>[0],
    ctx: Parameters<ServiceImpl<typeof RouterService>["chat"]>[1],
  ) {
    try {
      const route = fromProtoChatRequest(req, { requireMessages: true, limits: this.limits });
      noteModel(ctx, route.model);
      const principal = withWorkload(ctx.values.get(principalKey), route.workload);
      const out = new ChatResponseBuilder();
      for await (const ev of this.router.stream(route, principal, ctx.signal)) {
        if (ev.type === "route") reportRoute(ctx, ev);
        out.add(ev);
      }
      return out.build();
    } catch (err) {
      throw toConnectError(err);
    }
  }

  embed(
    req: Parameters<ServiceImpl<typeof RouterService>["embed"]>[0],
    ctx: Parameters<ServiceImpl<typeof RouterService>["embed"]>[1],
  ) {
    return embedRpc(this.router, req, ctx);
  }

  async explain(
    req: Parameters<ServiceImpl<typeof RouterService>["explain"]>[0],
    ctx: Parameters<ServiceImpl<typeof RouterService>["explain"]>[1],
  ) {
    try {
      if (!req.request) throw new InvalidFieldError("request", "is required");
      const route = fromProtoChatRequest(req.request, { requireMessages: false, limits: this.limits });
      const principal = withWorkload(ctx.values.get(principalKey), route.workload);
      const d = await this.router.decide(route, principal, { record: false });
      if (d.outcome === "policy_error") throw d.error;
      // Nothing eligible is Explain's answer, not a failure: the verdicts say why.
      // The content labels and obligations as the record states them (the rules that acted on
      // them are named in the candidates' exclusions).
      const content = { contentLabels: { ...d.record.labels }, obligations: [...d.record.obligations] };
      if (d.outcome === "denied")
        return { decision: { candidates: candidateMessages(d.verdicts), plan: [], ...content } };
      return {
        decision: {
          ...content,
          policy: { revision: d.bundle.revision, sha256: d.bundle.sha256 },
          catalogRevision: d.catalogRevision,
          candidates: candidateMessages(d.verdicts),
          plan: d.plan.map((e) => e.id),
          seed: d.seed.toString(),
          policyEvalUs: BigInt(d.policyEvalUs),
        },
      };
    } catch (err) {
      throw toConnectError(err);
    }
  }
}

/**
 * The decision and the endpoint as response headers (as the HTTP API and Embed send them; the
 * access line reads them too), the record's receipt, then the unapplied parameters.
 */
function reportRoute(
  ctx: HandlerContext,
  ev: {
    decisionId: string;
    endpoint: { id: string };
    unappliedParameters: readonly string[];
    receipt?: string;
  },
): void {
  ctx.responseHeader.set("x-sovr-decision-id", ev.decisionId);
  ctx.responseHeader.set("x-sovr-endpoint", ev.endpoint.id);
  reportReceipt(ctx, ev.receipt);
  reportUnapplied(ctx, ev.unappliedParameters);
}

/**
 * Advisory parameters the endpoint does not take were not sent: say so in a header (for a
 * caller that reads headers) and a trailer (for one that reads only the status), as the
 * OpenAI-compatible API does in its header, besides Route.unapplied_parameters.
 */
function reportUnapplied(ctx: HandlerContext, unapplied: readonly string[]): void {
  if (unapplied.length === 0) return;
  ctx.responseHeader.set(UNAPPLIED_HEADER, unapplied.join(", "));
  ctx.responseTrailer.set(UNAPPLIED_HEADER, unapplied.join(", "));
}
