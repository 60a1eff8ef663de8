import {
  type AdminActor,
  AdminTrail,
  type AuditLog,
  LOCAL_ACTOR,
  PLATFORM_TENANT,
  SYSTEM_ACTOR,
} from "../audit/index.js";
import type { ByokGate, Principal } from "../auth/index.js";
import type { CatalogGate, LiveCatalog } from "../catalog/index.js";
import type { BundleRef } from "../policy/index.js";
import { adminActorOf } from "../routing/index.js";
import { isRelayedBy } from "./cluster/index.js";

/**
 * The admin trail's hooks (docs/audit.md §1.2): each change is recorded before it takes effect,
 * and refused when its record cannot be committed. A change without an authenticated caller is
 * the router's own (catalog and bundle at start or on a file change) or, for BYOK, the local
 * operator's.
 */
export function startAdminTrail(audit: AuditLog, instance: string): AdminTrail {
  return new AdminTrail(audit, instance);
}

/** The caller: a Principal, or one another cluster worker relayed as its actor (./cluster). */
const actorOf = (by: unknown, otherwise: AdminActor): AdminActor =>
  by === undefined ? otherwise : isRelayedBy(by) ? by.relayedActor : adminActorOf(by as Principal);

/** Every catalog change: ApplyCatalog (the caller), the start and the directory watch (system). */
export function catalogGate(trail: AdminTrail): CatalogGate {
  return async ({ snapshot, previous, by }) => {
    await trail.record(actorOf(by, SYSTEM_ACTOR), {
      tenant: PLATFORM_TENANT,
      action: "catalog.apply",
      target: { catalog_revision: snapshot.revision },
      revision: { before: previous?.revision ?? null, after: snapshot.revision },
    });
  };
}

/** Gives `catalog` its gate. */
export function gateCatalog(catalog: LiveCatalog, trail: AdminTrail): void {
  catalog.setGate(catalogGate(trail));
}

/** A policy bundle about to serve (at start, on a file change or a URL poll): the router's own act. */
export async function recordBundleActivation(
  trail: AdminTrail,
  ref: BundleRef,
  previous: BundleRef | undefined,
): Promise<void> {
  await trail.record(SYSTEM_ACTOR, {
    tenant: PLATFORM_TENANT,
    action: "policy.activate",
    target: { policy_revision: ref.revision, policy_sha256: ref.sha256 },
    revision: { before: previous?.sha256 ?? null, after: ref.sha256 },
  });
}

/** BYOK set, remove and approve: the tenant admin, or the local operator without a key. */
export function byokGate(trail: AdminTrail): ByokGate {
  return async (caller, change) => {
    await trail.record(actorOf(caller, LOCAL_ACTOR), {
      tenant: change.tenant,
      action: change.action,
      target:
        change.action === "byok.approve_origins"
          ? { provider: change.provider, origins: change.origins ?? [] }
          : { provider: change.provider },
    });
  };
}
