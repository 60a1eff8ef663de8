/**
 * Admin record types (format v2, `kind: "admin"`): who changed what — the caller, the ids acted
 * on, the revisions before and after; never a secret. Validated by record-schema.ts; built by
 * record-admin.ts; re-exported by record.ts with the other record formats.
 */
import type { CallerRecord, Principal } from "./record.js";
import type { AdminAction } from "./record-schema.js";

/** The tenant that owns the platform's own changes (catalog, policy, signing keys) in admin records. */
export const PLATFORM_TENANT = "_platform";

/** Who made an admin change: a caller, the router itself (`system`) or a local operator (`local`). */
export interface AdminCallerRecord extends Omit<CallerRecord, "kind"> {
  kind: CallerRecord["kind"] | "system" | "local";
}

/** The ids an admin record names (record-schema.ts `ADMIN_ACTIONS` says which per action). */
export interface AdminTarget {
  catalog_revision?: string;
  policy_revision?: string;
  policy_sha256?: string;
  signing_key_id?: string;
  key_id?: string;
  provider?: string;
  origins?: string[];
  budget_id?: string;
}

/** Who changed what (v2, `kind: "admin"`): ids of what was acted on, never a secret. */
export interface AdminRecord {
  v: 2;
  kind: "admin";
  /** UUIDv7 of the change. */
  event_id: string;
  time_us: number;
  /** The tenant acted on; {@link PLATFORM_TENANT} for catalog, policy and signing-key changes. */
  tenant: string;
  tenant_seq: number;
  router: string;
  caller: AdminCallerRecord;
  /** On whose behalf: the caller's own tenant, workload and roles. */
  principal: Principal;
  action: AdminAction;
  target: AdminTarget;
  /** What was replaced and what was put in place, where there is a revision. */
  revision?: { before: string | null; after: string };
}
