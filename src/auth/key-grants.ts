/**
 * What a key-creating caller may grant (issue 17), on top of the tenant walls of the KeyService:
 * no role and no max role above its own ceiling (its key's max role, else its highest role, in
 * the order client < auditor < admin < operator), and no scope wider than its own key's. So a
 * provisioning key with max role `client` mints client keys only, and a scoped key cannot mint
 * an unscoped one. Pure: the caller turns a refusal into PermissionDenied naming the field.
 */
import type { Role } from "./api-keys.js";
import { type KeyScope, type RankedRole, ROLE_RANK } from "./key-scope.js";
import type { Principal } from "./principal.js";

const rank = (r: string): number => (r in ROLE_RANK ? ROLE_RANK[r as RankedRole] : -1);

/** The highest role `p` may grant: its key's max role, else its own highest role. */
export function grantCeiling(p: Pick<Principal, "roles" | "maxRole">): Role | undefined {
  if (p.maxRole !== undefined && rank(p.maxRole) >= 0) return p.maxRole as Role;
  let best: Role | undefined;
  for (const r of p.roles) if (rank(r) > (best === undefined ? -1 : rank(best))) best = r as Role;
  return best;
}

/** `pattern` (a model id or glob) only matches models that `outer` matches too. */
function globWithin(outer: string, pattern: string): boolean {
  if (!outer.includes("*")) return outer === pattern;
  // Read the inner pattern as a literal string: when the outer glob's wildcards absorb its `*`s,
  // every model the inner one matches is matched by the outer one.
  const body = outer
    .split("*")
    .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`).test(pattern);
}

/**
 * The field at fault and why, or undefined when `p` may create a key with these roles, max role
 * and scope.
 */
export function grantRefusal(
  p: Pick<Principal, "roles" | "maxRole" | "scope">,
  req: { roles: readonly Role[]; maxRole?: Role; scope: KeyScope },
): { field: string; message: string } | undefined {
  const ceiling = grantCeiling(p);
  const top = ceiling === undefined ? -1 : rank(ceiling);
  for (const [i, r] of req.roles.entries()) {
    if (rank(r) > top)
      return { field: `roles[${i}]`, message: `this key grants at most the role ${ceiling ?? "none"}` };
  }
  if (req.maxRole !== undefined && rank(req.maxRole) > top)
    return { field: "max_role", message: `this key grants at most the role ${ceiling ?? "none"}` };
  const own = p.scope;
  if (own && own.models.length > 0) {
    if (req.scope.models.length === 0)
      return {
        field: "allowed_models",
        message: "this key's models are limited, so the new key's must be too",
      };
    const i = req.scope.models.findIndex((m) => !own.models.some((o) => globWithin(o, m)));
    if (i >= 0) return { field: `allowed_models[${i}]`, message: "outside this key's allowed models" };
  }
  if (own && own.providers.length > 0) {
    if (req.scope.providers.length === 0)
      return {
        field: "allowed_providers",
        message: "this key's providers are limited, so the new key's must be too",
      };
    const i = req.scope.providers.findIndex((x) => !own.providers.includes(x));
    if (i >= 0) return { field: `allowed_providers[${i}]`, message: "outside this key's allowed providers" };
  }
  return undefined;
}
