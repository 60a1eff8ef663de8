/**
 * The admin trail (docs/audit.md §1.2): every change to who may call, what the router routes to
 * and under which rules is an admin record in the signed log, appended — and committed — BEFORE
 * the change takes effect. A change whose record cannot be appended is refused (fail closed):
 * callers await {@link AdminTrail.record} and change nothing when it throws.
 *
 * @example
 * await trail.record(actor, { tenant: "acme", action: "key.revoke", target: { key_id: "k1" } });
 * await revokeApiKey(db, "k1"); // only now
 */
import type { AppendRequest } from "./append-batch.js";
import type { Appended } from "./audit-log.js";
import { AdminRecordError } from "./errors.js";
import type { AdminCallerRecord, AdminRecord, AdminTarget } from "./record.js";
import { encodeSequenced, PLATFORM_TENANT, withTenantSeq } from "./record.js";
import { buildAdminRecord } from "./record-admin.js";
import type { AdminAction } from "./record-schema.js";

/** Who makes a change: the caller as a record names it, and on whose behalf (tenant, workload, roles). */
export interface AdminActor {
  caller: AdminCallerRecord;
  principal: { tenant: string; workload: string; roles: readonly string[] };
}

/** What is changed: the tenant acted on, the action, the ids and (where there is one) the revisions. */
export interface AdminChange {
  /** The tenant acted on; {@link PLATFORM_TENANT} for catalog, policy and signing-key changes. */
  tenant: string;
  action: AdminAction;
  target: AdminTarget;
  /** What the change replaces and what it puts in place; `before` null when there was none. */
  revision?: { before: string | null; after: string };
}

/**
 * The router itself: the catalog and policy bundle it reads at start and on a file change, a new
 * signing key it publishes at start, keys it finds expired.
 */
export const SYSTEM_ACTOR: AdminActor = {
  caller: { kind: "system", subject: "sovr", key_id: "" },
  principal: { tenant: PLATFORM_TENANT, workload: "sovr", roles: ["operator"] },
};

/** Someone with the database and signing keys in hand: the `sovr keys` commands without `SOVR_KEY`. */
export const LOCAL_ACTOR: AdminActor = {
  caller: { kind: "local", subject: "", key_id: "" },
  principal: { tenant: PLATFORM_TENANT, workload: "sovr-cli", roles: ["operator"] },
};

export class AdminTrail {
  constructor(
    private readonly log: { append(req: AppendRequest): Promise<Appended> },
    /** The instance that makes the changes (`SOVR_INSTANCE`). */
    private readonly router: string,
  ) {}

  /**
   * Appends the admin record of `change` by `actor` and resolves once it is committed. Throws —
   * and the caller must then not make the change — when the record is invalid (a target the
   * action does not name: a programming error) or cannot be committed.
   */
  async record(actor: AdminActor, change: AdminChange): Promise<Appended & { record: AdminRecord }> {
    const unsequenced = buildAdminRecord({
      tenant: change.tenant,
      router: this.router,
      caller: actor.caller,
      principal: { ...actor.principal, roles: [...actor.principal.roles] },
      action: change.action,
      target: change.target,
      revision: change.revision,
    });
    const appended = await this.log
      .append({
        kind: "admin",
        eventId: unsequenced.event_id,
        recordedAt: new Date(Math.floor(unsequenced.time_us / 1000)),
        tenant: unsequenced.tenant,
        action: unsequenced.action,
        encode: (tenantSeq) => encodeSequenced(unsequenced, tenantSeq),
      })
      .catch((cause: unknown) => {
        throw new AdminRecordError(`admin record (${change.action}) could not be written; change refused`, {
          cause,
        });
      });
    return { ...appended, record: withTenantSeq(unsequenced, appended.tenantSeq!) as AdminRecord };
  }
}
