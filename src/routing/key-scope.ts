/**
 * An API key's scopes in routing (issue 17). A model the key may not ask for is the caller's
 * error, refused before any decision ({@link KeyScopeError}: PermissionDenied / HTTP 403 naming
 * the field). A provider the key may not reach makes its endpoints ineligible with rule
 * `key_scope`, so Explain and the decision record say why; when none remain the request is
 * denied like any other (fail closed). Replay reads the key's provider scope back from those
 * exclusions (src/replay/replay-input.ts).
 */
import type { Principal } from "../auth/index.js";
import { modelInScope, providerInScope } from "../auth/index.js";
import type { ResolvedEndpoint } from "../catalog/index.js";
import type { Exclusion, RouteRequest } from "./types.js";

/** The request names a model outside the key's allowed models; `field` is `model` or `models[i]`. */
export class KeyScopeError extends Error {
  constructor(readonly field: string) {
    super(`${field}: this API key may not use the model (outside its allowed models)`);
    this.name = "KeyScopeError";
  }
}

/** Throws {@link KeyScopeError} when the model or a fallback model is outside the key's scope. */
export function checkModelScope(req: Pick<RouteRequest, "model" | "models">, principal: Principal): void {
  if (!principal.scope || principal.scope.models.length === 0) return;
  if (!modelInScope(principal.scope, req.model)) throw new KeyScopeError("model");
  req.models.forEach((m, i) => {
    if (!modelInScope(principal.scope, m)) throw new KeyScopeError(`models[${i}]`);
  });
}

/** The exclusion for an endpoint whose provider the key may not reach, if it is one. */
export function keyScopeExclusion(endpoint: ResolvedEndpoint, principal: Principal): Exclusion | undefined {
  if (providerInScope(principal.scope, endpoint.provider)) return undefined;
  return {
    stage: "filter",
    rule: "key_scope",
    reason: `key_scope: provider ${endpoint.provider} is not among the API key's allowed providers`,
  };
}
