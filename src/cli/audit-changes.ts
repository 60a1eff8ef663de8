/**
 * `sovr audit changes DECISION_ID`: who changed the rules before this decision — the admin
 * records (docs/audit.md §1.2) of the decision's tenant and, for an auditor granted all tenants,
 * the platform's (catalog, policy bundle, signing key), committed before it, newest first.
 * A client of a running server (`SOVR_URL`, `SOVR_KEY`), like `sovr audit query`.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { AuditService } from "../gen/sovereign/v1/audit_pb.js";
import type { CommandResult } from "./audit-commands.js";
import { type ServerClientOptions, serverClient } from "./connect-client.js";

export interface ChangesOptions extends ServerClientOptions {
  /** Most records to print (default 100). */
  limit?: number;
  json?: boolean;
}

export async function changesCommand(decisionId: string, o: ChangesOptions = {}): Promise<CommandResult> {
  const client = serverClient(AuditService, o);
  const limit = o.limit ?? 100;
  const records = [];
  let pageToken = "";
  do {
    const page = await client.queryAdminRecords({
      beforeDecisionId: decisionId,
      pageSize: Math.min(500, limit - records.length),
      pageToken,
    });
    records.push(...page.records);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && records.length < limit);
  const plain = records.map((r) => ({
    event_id: r.eventId,
    time: r.time ? timestampDate(r.time).toISOString() : "",
    seq: Number(r.seq),
    tenant: r.tenant,
    tenant_seq: Number(r.tenantSeq),
    action: r.action,
    caller: { kind: r.callerKind, subject: r.callerSubject, key_id: r.callerKeyId },
    principal: { tenant: r.principalTenant, roles: r.principalRoles },
    target: r.target,
    revision: r.revisionAfter ? { before: r.revisionBefore ?? null, after: r.revisionAfter } : null,
  }));
  if (o.json) return { exitCode: 0, stdout: plain.map((r) => JSON.stringify(r)), stderr: [] };
  const by = (r: (typeof plain)[number]) =>
    `${r.caller.kind}${r.caller.key_id ? ` ${r.caller.key_id}` : r.caller.subject ? ` ${r.caller.subject}` : ""} (${r.principal.tenant}: ${r.principal.roles.join(",")})`;
  const header = ["TIME", "SEQ", "TENANT", "ACTION", "BY", "TARGET"];
  const table = plain.map((r) => [
    r.time,
    String(r.seq),
    r.tenant,
    r.action,
    by(r),
    Object.entries(r.target)
      .map(([k, v]) => `${k}=${v.length > 20 ? `${v.slice(0, 12)}…` : v}`)
      .join(" "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const more = pageToken !== "" ? " (more before; raise --limit)" : "";
  return {
    exitCode: 0,
    stdout: [
      `changes before decision ${decisionId}, newest first:`,
      line(header),
      ...table.map(line),
      "",
      `${plain.length} changes${more}`,
    ],
    stderr: [],
  };
}
