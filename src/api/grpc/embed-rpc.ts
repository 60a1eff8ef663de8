import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { EmbedRequest, EmbedResponseSchema } from "../../gen/sovereign/v1/router_pb.js";
import type { Router } from "../../routing/index.js";
import { UNAPPLIED_HEADER } from "./chat-responses.js";
import { noteModel, principalKey } from "./context.js";
import { fromProtoEmbedRequest } from "./embed-request.js";
import { toConnectError } from "./errors.js";

/**
 * RouterService.Embed: the request as routing/embed.ts takes it, the vectors back in input order
 * with the route, usage and cost. The decision id and the endpoint also travel as response
 * headers (`x-sovr-decision-id`, `x-sovr-endpoint`), as on the HTTP API, and the advisory
 * parameters not sent in Route.unapplied_parameters and `x-sovr-unapplied-parameters` (header
 * and trailer), as Chat does; a refusal carries the decision id in its error metadata (errors.ts).
 */
export async function embedRpc(
  router: Router,
  req: EmbedRequest,
  ctx: HandlerContext,
): Promise<MessageInitShape<typeof EmbedResponseSchema>> {
  try {
    const route = fromProtoEmbedRequest(req);
    noteModel(ctx, route.model);
    const caller = ctx.values.get(principalKey);
    const principal = route.workload ? { ...caller, workload: route.workload } : caller;
    const out = await router.embed(route, principal, ctx.signal);
    ctx.responseHeader.set("x-sovr-decision-id", out.decisionId);
    ctx.responseHeader.set("x-sovr-endpoint", out.endpoint.id);
    if (out.unappliedParameters.length > 0) {
      ctx.responseHeader.set(UNAPPLIED_HEADER, out.unappliedParameters.join(", "));
      ctx.responseTrailer.set(UNAPPLIED_HEADER, out.unappliedParameters.join(", "));
    }
    return {
      route: {
        decisionId: out.decisionId,
        endpointId: out.endpoint.id,
        provider: out.endpoint.provider,
        model: out.endpoint.model,
        attempt: out.attempt,
        unappliedParameters: [...out.unappliedParameters],
      },
      embeddings: out.vectors.map((values, index) => ({ index, values })),
      usage: {
        promptTokens: out.usage.promptTokens,
        completionTokens: 0,
        totalTokens: out.usage.promptTokens,
        costMicroUsd: BigInt(out.usage.costMicroUsd),
      },
    };
  } catch (err) {
    throw toConnectError(err);
  }
}
