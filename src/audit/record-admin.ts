/**
 * Admin records (format v2, `kind: "admin"`): who changed what — a catalog applied, a policy
 * bundle activated, a signing key rotated, an API key created, revoked or expired, a tenant's
 * BYOK key set or removed, its origins approved, a budget set or deleted. A record names the ids
 * acted on (revision hash, key id, provider, origins, budget id) and never a secret: no key
 * material, no token. It counts in the sequence of the tenant acted on; platform changes belong
 * to {@link PLATFORM_TENANT}.
 */

import { uuidv7 } from "../encoding/index.js";
import {
  type AdminCallerRecord,
  type AdminRecord,
  nowUs,
  type Principal,
  type Unsequenced,
  validateRecord,
} from "./record.js";

export interface AdminInput {
  tenant: string;
  router: string;
  caller: AdminCallerRecord;
  principal: Principal;
  action: AdminRecord["action"];
  target: AdminRecord["target"];
  revision?: AdminRecord["revision"];
  event_id?: string;
  time_us?: number;
}

/**
 * Builds an admin record awaiting its `tenant_seq`, after validating it strictly (as it will be
 * signed, with a placeholder number): an unknown action, a target field the action does not
 * name or a missing one is refused here, before anything is changed.
 */
export function buildAdminRecord(input: AdminInput): Unsequenced<AdminRecord> {
  const time_us = input.time_us ?? nowUs();
  const record: Unsequenced<AdminRecord> = {
    v: 2,
    kind: "admin",
    event_id: input.event_id ?? uuidv7(Math.floor(time_us / 1000)),
    time_us,
    tenant: input.tenant,
    router: input.router,
    caller: input.caller,
    principal: {
      tenant: input.principal.tenant,
      workload: input.principal.workload,
      roles: [...input.principal.roles],
    },
    action: input.action,
    target: input.target,
    ...(input.revision ? { revision: input.revision } : {}),
  };
  validateRecord({ ...record, tenant_seq: 1 });
  return record;
}
