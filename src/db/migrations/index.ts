import type { Migration } from "kysely";
import * as initial from "./2026-11-22T0001-initial.js";
import * as apiKeys from "./2026-11-22T0100-api-keys.js";
import * as byokKeys from "./2026-11-22T0310-byok-keys.js";
import * as auditTenantHeads from "./2026-11-30T0400-audit-tenant-heads.js";
import * as byokOrigins from "./2026-11-30T0400-byok-origins.js";
import * as keyRoles from "./2026-11-30T0500-key-roles.js";
import * as keyScopes from "./2026-11-30T0600-h-keys-key-scopes.js";
import * as budgets from "./2026-11-30T0610-budgets.js";
import * as decisionUsage from "./2026-11-30T0700-h-usage-decision-usage.js";
import * as rateLimitWindows from "./2026-11-30T0710-h-usage-rate-limit-windows.js";
import * as witnessCosignatures from "./2026-11-30T0800-h-witness-cosignatures.js";
import * as adminRecords from "./2026-12-01T0600-admin-records-admin.js";
import * as keyExpiryRecorded from "./2026-12-01T0700-key-expiry-recorded.js";
import * as decisionFacets from "./2026-12-01T0900-h-evidence-decision-facets.js";
import * as logShards from "./2026-12-01T1000-h-shards-log-shards.js";
import * as appendLocked from "./2026-12-01T1100-h-db-append-locked.js";
import * as hotOutcomes from "./2026-12-02T0100-audit-hot-outcomes.js";
import * as logStatistics from "./2026-12-02T0200-audit-log-statistics.js";
import * as auditTiles from "./2026-12-02T0300-audit-tiles.js";

/** Every migration, by name; names sort in the order they apply. */
export const migrations: Record<string, Migration> = {
  "2026-11-22T0001-initial": initial,
  "2026-11-22T0100-api-keys": apiKeys,
  "2026-11-22T0310-byok-keys": byokKeys,
  "2026-11-30T0400-audit-tenant-heads": auditTenantHeads,
  "2026-11-30T0400-byok-origins": byokOrigins,
  "2026-11-30T0500-key-roles": keyRoles,
  "2026-11-30T0600-h-keys-key-scopes": keyScopes,
  "2026-11-30T0700-h-usage-decision-usage": decisionUsage,
  "2026-11-30T0710-h-usage-rate-limit-windows": rateLimitWindows,
  "2026-11-30T0610-budgets": budgets,
  "2026-11-30T0800-h-witness-cosignatures": witnessCosignatures,
  "2026-12-01T0600-admin-records-admin": adminRecords,
  "2026-12-01T0700-key-expiry-recorded": keyExpiryRecorded,
  "2026-12-01T0900-h-evidence-decision-facets": decisionFacets,
  "2026-12-01T1000-h-shards-log-shards": logShards,
  "2026-12-01T1100-h-db-append-locked": appendLocked,
  "2026-12-02T0100-audit-hot-outcomes": hotOutcomes,
  "2026-12-02T0200-audit-log-statistics": logStatistics,
  "2026-12-02T0300-audit-tiles": auditTiles,
};
