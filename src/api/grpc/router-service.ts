import type { ServiceImpl } from "@connectrpc/connect";
import type { Principal } from "../../auth/index.js";
import type { RouterService } from "../../gen/sovereign/v1/router_pb.js";
import type { Router, RouterEvent } from "../../routing/index.js";
import { fromProtoChatRequest } from "./chat-request.js";
import { principalKey } from "./context.js";
import { embedRpc } from "./embed-rpc.js";
import { candidateMessages, InvalidFieldError, toConnectError } from "./errors.js";

function withWorkload(p: Principal, workload: string): Principal {
  return workload ? { ...p, workload } : p;
}

/** RouterService: Chat, ChatStream, Explain and Embed (./embed-rpc.ts) over the {@link Router}. */
export class RouterServiceImpl implements ServiceImpl<typeof RouterService> {
  constructor(private readonly router: Router) {}

  async *chatStream(
    req: Parameters<ServiceImpl<typeof RouterService>["chatStream"]>[0],
    ctx: Parameters<ServiceImpl<typeof RouterService>["chatStream"]>[1],
  ) {
    try {
      const route = fromProtoChatRequest(req, { requireMessages: true });
      const principal = withWorkload(ctx.values.get(principalKey), route.workload);
      for await (const ev of this.router.stream(route, principal, ctx.signal)) yield toStreamResponse(ev);
    } catch (err) {
      throw toConnectError(err);
    }
  }

  async chat(
    req: Parameters<ServiceImpl<typeof RouterService>["chat"]>[0],
    ctx: Parameters<ServiceImpl<typeof RouterService>["chat"]>[1],
  ) {
    try {
      const route = fromProtoChatRequest(req, { requireMessages: true });
      const principal = withWorkload(ctx.values.get(principalKey), route.workload);
      let content = "";
      const toolCalls = new Map<
        number,
        { id: string; type: string; functionName: string; functionArguments: string }
      >();
      let out: {
        route?: ReturnType<typeof routeMessage>;
        finishReason: string;
        usage?: ReturnType<typeof usageMessage>;
      } = {
        finishReason: "",
      };
      for await (const ev of this.router.stream(route, principal, ctx.signal)) {
        if (ev.type === "route") out.route = routeMessage(ev);
        else if (ev.type === "delta") {
          if (ev.content) content += ev.content;
          for (const t of ev.toolCalls ?? []) {
            const cur = toolCalls.get(t.index) ?? {
              id: "",
              type: "function",
              functionName: "",
              functionArguments: "",
            };
            if (t.id) cur.id = t.id;
            if (t.name) cur.functionName += t.name;
            if (t.arguments) cur.functionArguments += t.arguments;
            toolCalls.set(t.index, cur);
          }
        } else out = { ...out, finishReason: ev.finishReason, usage: usageMessage(ev.usage) };
      }
      return {
        route: out.route,
        message: { role: "assistant", content, toolCalls: [...toolCalls.values()] },
        finishReason: out.finishReason,
        usage: out.usage,
      };
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
      const route = fromProtoChatRequest(req.request, { requireMessages: false });
      const principal = withWorkload(ctx.values.get(principalKey), route.workload);
      const d = await this.router.decide(route, principal, { record: false });
      if (d.outcome === "policy_error") throw d.error;
      // Nothing eligible is Explain's answer, not a failure: the verdicts say why.
      if (d.outcome === "denied")
        return { decision: { candidates: candidateMessages(d.verdicts), plan: [] } };
      return {
        decision: {
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

function routeMessage(ev: Extract<RouterEvent, { type: "route" }>) {
  return {
    decisionId: ev.decisionId,
    endpointId: ev.endpoint.id,
    provider: ev.endpoint.provider,
    model: ev.endpoint.model,
    attempt: ev.attempt,
  };
}

function usageMessage(u: Extract<RouterEvent, { type: "finish" }>["usage"]) {
  return {
    promptTokens: u.promptTokens,
    completionTokens: u.completionTokens,
    totalTokens: u.promptTokens + u.completionTokens,
    costMicroUsd: BigInt(u.costMicroUsd),
  };
}

function toStreamResponse(ev: RouterEvent) {
  switch (ev.type) {
    case "route":
      return { event: { case: "route" as const, value: routeMessage(ev) } };
    case "delta":
      return {
        event: {
          case: "delta" as const,
          value: {
            role: ev.role ?? "",
            content: ev.content ?? "",
            toolCalls: (ev.toolCalls ?? []).map((t) => ({
              index: t.index,
              id: t.id ?? "",
              functionName: t.name ?? "",
              functionArguments: t.arguments ?? "",
            })),
          },
        },
      };
    case "finish":
      return {
        event: {
          case: "finish" as const,
          value: { finishReason: ev.finishReason, usage: usageMessage(ev.usage) },
        },
      };
  }
}
