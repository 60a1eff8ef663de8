import { randomBytes } from "node:crypto";

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
