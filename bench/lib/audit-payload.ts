import { randomBytes } from "node:crypto";
import type { AppendRequest } from "../../src/audit/audit-log.js";

/** The tenants the database benchmarks' records belong to. */
export const BENCH_TENANTS = ["acme-health", "globex", "initech", "umbrella"];

/** A record's bytes about as large as a routed v2 decision's (~1.5 kB of JSON; envelope ~2.1 kB). */
export function benchRecordPayload(kind: string, id: string, tenant: string, seq: number): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      v: 2,
      kind,
      decision_id: id,
      tenant,
      tenant_seq: seq,
      // Real records do not compress much once base64-encoded into their envelope.
      pad: randomBytes(kind === "decision" ? 1000 : 350).toString("base64"),
    }),
  );
}

/** A routed request's decision record, as the log's append takes it. */
export function benchDecision(id: string, tenant: string): AppendRequest {
  return {
    kind: "decision",
    decisionId: id,
    recordedAt: new Date(),
    tenant,
    encode: (n) => benchRecordPayload("decision", id, tenant, n),
    index: {
      tenant,
      model: "sim/chat-small",
      endpoint_id: "sim-eu/chat-small",
      outcome: "pending",
      policy_revision: "2026-10-01T00:00:00Z-3f2a",
      policy_sha256: "9".repeat(64),
      catalog_revision: "c".repeat(64),
      key_id: `key-${tenant}`,
      facets: ["excluded:zdr", "modality:text", "passed:residency"],
    },
  };
}

/** Its outcome record: a success with usage. */
export function benchOutcome(id: string, tenant: string): AppendRequest {
  return {
    kind: "outcome",
    decisionId: id,
    recordedAt: new Date(),
    tenant,
    encode: (n) => benchRecordPayload("outcome", id, tenant, n),
    outcome: "success",
    endpointId: "sim-eu/chat-small",
    usage: { input_tokens: 812, output_tokens: 128, cost_micro_usd: 420 },
  };
}
