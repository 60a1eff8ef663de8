/**
 * The headers of a routed answer on every HTTP surface (chat completions, responses,
 * embeddings, the Messages API): the decision, its receipt (docs/audit.md §9), the endpoint, and — when there were any — the
 * advisory parameters the endpoint did not take, which were not sent (routing/parameters.ts),
 * named as the surface names them.
 */
export function routeHeaders(
  route: {
    decisionId: string;
    endpoint: { id: string };
    unappliedParameters: readonly string[];
    receipt?: string;
  },
  name: (parameter: string) => string = (p) => p,
): Record<string, string> {
  const h: Record<string, string> = {
    "x-sovr-decision-id": route.decisionId,
    "x-sovr-endpoint": route.endpoint.id,
  };
  if (route.receipt) h["x-sovr-receipt"] = route.receipt;
  if (route.unappliedParameters.length > 0)
    h["x-sovr-unapplied-parameters"] = route.unappliedParameters.map(name).join(", ");
  return h;
}
