import type { AdminActor } from "../../audit/index.js";
import type { Authenticator, ByokStore, Principal } from "../../auth/index.js";
import type { CatalogApplied, CatalogFile, LiveCatalog } from "../../catalog/index.js";
import { adminActorOf } from "../../routing/index.js";
import type { Metrics } from "../../telemetry/index.js";
import type { WorkerLink } from "./worker-link.js";

/** A caller's change as the other workers' admin records name it (a Principal is not sent as is). */
export interface RelayedBy {
  relayedActor: AdminActor;
}

export function isRelayedBy(by: unknown): by is RelayedBy {
  return typeof by === "object" && by !== null && "relayedActor" in by;
}

/**
 * Makes this worker one of the cluster's: a caller's catalog change is applied in every worker
 * in one order (each writes its own admin record, as replicas do), a BYOK or API key change is
 * read again at once everywhere, and `/metrics` answers with every worker's metrics summed.
 */
export function joinCluster(
  link: WorkerLink,
  parts: { catalog: LiveCatalog; byok: ByokStore; auth: Authenticator; metrics: Metrics },
): void {
  const { catalog, byok, auth, metrics } = parts;
  catalog.setRelay((files, by) =>
    link.broadcast<CatalogApplied>("catalog", {
      files,
      by: isRelayedBy(by) ? by : ({ relayedActor: adminActorOf(by as Principal) } satisfies RelayedBy),
    }),
  );
  link.on("catalog", (p) => {
    const { files, by } = p as { files: CatalogFile[]; by: RelayedBy };
    return catalog.applyHere(files, by);
  });
  byok.setRelay((tenant) => link.broadcast("byok", tenant));
  link.on("byok", (tenant) => byok.forget(String(tenant)));
  auth.setRelay(() => link.broadcast("keys", null));
  link.on("keys", () => auth.refresh());
  link.sampleWith(() => metrics.registry.getMetricsAsJSON());
  metrics.setExposition(() => link.clusterMetrics());
}
