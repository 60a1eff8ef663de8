import type { Generated, Insertable, Selectable } from "kysely";
import type { BudgetHoldsTable, BudgetsTable, BudgetUsageTable } from "./budget-tables.js";

/** Every accepted catalog state (docs/architecture.md §4), immutable, keyed by its content hash. */
export interface CatalogRevisionsTable {
  revision: string;
  canonical: string;
  provider_count: number;
  endpoint_count: number;
  created_at: Generated<Date>;
}

/** Every policy bundle ever loaded, by sha256 of the tarball (docs/architecture.md §5), for replay. */
export interface PolicyBundlesTable {
  sha256: string;
  revision: string;
  bundle: Uint8Array;
  created_at: Generated<Date>;
}

/** The append-only log: one row per signed record, `seq` dense from 0 = Merkle leaf index. */
export interface AuditLogTable {
  /** The log shard (0 in a one-shard log); (shard, seq) is the key. */
  shard: Generated<number>;
  seq: number;
  kind: "decision" | "outcome" | "admin";
  /** The decision id; an admin record's event id. */
  decision_id: string;
  recorded_at: Date;
  /** The DSSE envelope as canonical JSON. */
  envelope: string;
  leaf_hash: Uint8Array;
}

/** Query index over the log: one row per decision, filled in the log's own transactions. */
export interface AuditDecisionsTable {
  decision_id: string;
  /** The log shard of the decision and its outcome (both are its tenant's). */
  shard: Generated<number>;
  recorded_at: Date;
  tenant: string;
  model: string;
  endpoint_id: string | null;
  outcome: "pending" | "success" | "failed" | "denied";
  policy_revision: string;
  policy_sha256: string;
  catalog_revision: string;
  decision_seq: number;
  outcome_seq: number | null;
  /** The API key the call came with ("" without one; NULL on rows older than the column). */
  key_id: string | null;
  /** Usage from the outcome record (NULL until the outcome, or when the upstream reported none). */
  input_tokens: number | null;
  output_tokens: number | null;
  /** Cost at catalog prices (micro-USD) from the outcome record; NULL until the outcome. */
  cost_micro_usd: number | null;
  /**
   * What the decision says besides these columns, for audit queries (src/audit/decision-facets.ts):
   * `label:<category>`, `modality:<m>`, `excluded:<rule>`, `passed:<rule>`; NULL on older rows.
   */
  facets: string[] | null;
}

/**
 * Per catalog revision and endpoint, the attributes audit queries filter on (provider,
 * headquarters, effective residency), derived from the stored revision (src/audit/endpoint-facts.ts).
 */
export interface AuditEndpointFactsTable {
  catalog_revision: string;
  endpoint_id: string;
  provider: string;
  headquarters: string | null;
  residency_region: string | null;
  residency_country: string | null;
}

/** Record format v2: the last `tenant_seq` committed per tenant (see src/audit/tenant-heads.ts). */
export interface AuditTenantHeadsTable {
  tenant: string;
  head: number;
}

/**
 * A tenant's outcome entries by sequence number, written with each outcome (insert-only; the
 * decision's index row carries `outcome_seq` too, but unindexed so that the outcome's update
 * of it stays heap-only: migration 2026-12-02T0100-audit-hot-outcomes).
 */
export interface AuditOutcomeSeqsTable {
  tenant: string;
  shard: number;
  seq: number;
}

/** Query index over the admin records of the log (docs/audit.md §1.2), filled with the log row. */
export interface AuditAdminEventsTable {
  event_id: string;
  shard: Generated<number>;
  seq: number;
  recorded_at: Date;
  /** The tenant acted on (`_platform` for platform changes). */
  tenant: string;
  action: string;
}

/** Signed checkpoints (C2SP tlog-checkpoint signed notes). */
export interface AuditCheckpointsTable {
  shard: Generated<number>;
  size: number;
  root_hash: Uint8Array;
  signed_note: string;
  created_at: Generated<Date>;
}

/** The hashes of a shard's complete 256-leaf tiles of the Merkle tree (src/audit/log-tree.ts). */
export interface AuditTilesTable {
  shard: number;
  tile: number;
  hash: Uint8Array;
}

/** Witnesses' cosignatures of our checkpoints, as note signature lines (src/audit/cosignature-store.ts). */
export interface AuditCosignaturesTable {
  shard: Generated<number>;
  size: number;
  /** The witness's verifier key (name+hash+base64(0x04 ‖ key)). */
  witness: string;
  /** The note signature line the witness returned, without its newline. */
  signature: string;
  /** The cosignature's own timestamp. */
  cosigned_at: Date;
  created_at: Generated<Date>;
}

/** Public halves of the record-signing keys, with validity ranges. */
export interface SigningKeysTable {
  key_id: string;
  algorithm: string;
  public_key: Uint8Array;
  valid_from: Date;
  valid_until: Date | null;
}

/** API keys: hashed secrets with a tenant and roles (docs/architecture.md §7 Auth). */
export interface ApiKeysTable {
  key_id: string;
  secret_hash: Uint8Array;
  tenant: string;
  /** Comma-separated roles: client, auditor, admin (tenant admin), operator (platform). */
  roles: string;
  /** An auditor key's grant to read every tenant's records; only an operator creates one. */
  all_tenants: Generated<boolean>;
  description: Generated<string>;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  last_used_at: Date | null;
  /** After this instant the key is refused as expired; NULL = never (issue 17). */
  expires_at: Date | null;
  label: Generated<string>;
  /** Comma-separated model ids or globs the key may ask for; "" = any. */
  allowed_models: Generated<string>;
  /** Comma-separated provider slugs the key's requests may go to; "" = any. */
  allowed_providers: Generated<string>;
  /** The highest role this key may grant to keys it creates; NULL = its own highest role. */
  max_role: string | null;
  /** When its expiry became an admin record in the signed log (`key.expire`); NULL = not yet. */
  expiry_recorded_at: Date | null;
}

export interface Database {
  api_keys: ApiKeysTable;
  catalog_revisions: CatalogRevisionsTable;
  policy_bundles: PolicyBundlesTable;
  audit_log: AuditLogTable;
  audit_decisions: AuditDecisionsTable;
  audit_endpoint_facts: AuditEndpointFactsTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_tiles: AuditTilesTable;
  audit_cosignatures: AuditCosignaturesTable;
  audit_tenant_heads: AuditTenantHeadsTable;
  audit_outcome_seqs: AuditOutcomeSeqsTable;
  audit_admin_events: AuditAdminEventsTable;
  /** The shard layout the log was written with (src/audit/log-layout.ts). */
  audit_log_layout: { id: number; shards: number; shard_map: string };
  signing_keys: SigningKeysTable;
  /** Tenants' own provider keys, encrypted (src/auth/byok.ts). */
  byok_keys: ByokKeysTable;
  /** Budgets, their windows' usage and each decision's reservations (db/budget-tables.ts). */
  budgets: BudgetsTable;
  budget_usage: BudgetUsageTable;
  budget_holds: BudgetHoldsTable;
  /** Cluster-wide rate limit counters (src/api/transport/leased-windows.ts). */
  rate_limit_windows: RateLimitWindowsTable;
}

/** Units (requests or tokens) the replicas leased of one subject's window. */
export interface RateLimitWindowsTable {
  subject: string;
  /** Window number: floor(database time in ms / SOVR_RATE_LIMIT_WINDOW_MS). */
  window_start: number;
  used: number;
}

export type CatalogRevisionRow = Selectable<CatalogRevisionsTable>;
export type NewAuditLogRow = Insertable<AuditLogTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
export type AuditDecisionRow = Selectable<AuditDecisionsTable>;
export type AuditAdminEventRow = Selectable<AuditAdminEventsTable>;
export type AuditCheckpointRow = Selectable<AuditCheckpointsTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;

/** Tenants' own provider keys, sealed under the master key (auth/byok.ts). */
export interface ByokKeysTable {
  tenant: string;
  provider: string;
  ciphertext: Uint8Array;
  nonce: Uint8Array;
  master_key_id: string;
  always: boolean;
  updated_at: Date;
  /**
   * Approved origins as a JSON array of normalised origins, bound into the AAD (v2). NULL for
   * rows written before origins existed: decrypted with the v1 AAD, approved for no origin.
   */
  origins: string | null;
}
