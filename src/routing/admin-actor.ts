import type { AdminActor } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import { callerOf } from "./decision-record.js";

/**
 * The authenticated caller as an admin record names it: the caller as a decision record names
 * it (one `callerOf` for both kinds of record) and its own tenant, workload and roles.
 */
export function adminActorOf(principal: Principal): AdminActor {
  return {
    caller: callerOf(principal),
    principal: { tenant: principal.tenant, workload: principal.workload, roles: [...principal.roles] },
  };
}
