import type { AdminActor, AuditLog, Checkpointer } from "../../audit/index.js";
import type { Authenticator, ByokStore, Principal } from "../../auth/index.js";
import type { BudgetStore } from "../../budget/index.js";
import type { CatalogApplied, CatalogFile, LiveCatalog } from "../../catalog/index.js";
import { adminActorOf } from "../../routing/index.js";
import type { Logger, Metrics } from "../../telemetry/index.js";
import { storedChangeRelay } from "./stored-change-relay.js";
import type { WorkerLink } from "./worker-link.js";

/** Leaves one worker committed to a log shard: [seq, leaf hash in base64]. */
interface SharedLeaves {
  shard: number;
  entries: [number, string][];
}

/** A caller's change as the other workers' admin records name it (a Principal is not sent as is). */
export interface RelayedBy {
  relayedActor: AdminActor;
}

export function isRelayedBy(by: unknown): by is RelayedBy {
  return typeof by === "object" && by !== null && "relayedActor" in by;
}

/**
 * Makes this worker one of the cluster's: a caller's catalog change is applied in every worker
 * in one order (each writes its own admin record, as replicas do), a BYOK, API key or budget
 * change is read again at once everywhere, and `/metrics` answers with every worker's metrics summed.
 *
 * A BYOK, API key or budget change is stored before it is relayed: a worker that could not
 * read it again at once does not fail the caller's call (./stored-change-relay.ts).
 */
export function joinCluster(
  link: WorkerLink,
  parts: {
    catalog: LiveCatalog;
    byok: ByokStore;
    auth: Authenticator;
    budgets: BudgetStore;
    metrics: Metrics;
    audit: AuditLog;
    checkpointers: readonly Checkpointer[];
    logger: Logger;
  },
): void {
  const { catalog, byok, auth, budgets, metrics, audit, checkpointers, logger } = parts;
  const relay = storedChangeRelay(link, metrics, logger);
  // Each worker's checkpointer keeps the whole log's tree: the leaves a worker commits are
  // handed to the others, which would otherwise read every one back and verify its signature.
  for (let k = 0; k < audit.shardCount; k++)
    audit.shard(k).onCommitted((entries) =>
      link.share("leaves", {
        shard: k,
        entries: entries.map((e) => [e.seq, Buffer.from(e.leafHash).toString("base64")]),
      } satisfies SharedLeaves),
    );
  link.onShared("leaves", (p) => {
    const { shard, entries } = p as SharedLeaves;
    checkpointers[shard]?.siblingCommitted(
      entries.map(([seq, leaf]) => ({ seq, leafHash: new Uint8Array(Buffer.from(leaf, "base64")) })),
    );
  });
  catalog.setRelay((files, by) =>
    link.broadcast<CatalogApplied>("catalog", {
      files,
      // A caller's change (a relayed one is applied with applyHere, never through here).
      by: { relayedActor: adminActorOf(by as Principal) } satisfies RelayedBy,
    }),
  );
  link.on("catalog", (p) => {
    const { files, by } = p as { files: CatalogFile[]; by: RelayedBy };
    return catalog.applyHere(files, by);
  });
  byok.setRelay((tenant) => relay("byok", tenant));
  link.on("byok", (tenant) => byok.forget(String(tenant)));
  auth.setRelay(() => relay("keys", null));
  link.on("keys", () => auth.refresh());
  budgets.setRelay(() => relay("budgets", null));
  link.on("budgets", () => budgets.refresh());
  link.sampleWith(() => metrics.registry.getMetricsAsJSON());
  metrics.setExposition(() => link.clusterMetrics());
}
