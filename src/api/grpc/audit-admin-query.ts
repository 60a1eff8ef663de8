/**
 * AuditService.QueryAdminRecords (docs/audit.md §1.2, §7): the admin trail for auditors, newest
 * first, and with `before_decision_id` the changes committed before a decision. The tenant walls
 * are those of the decisions: an auditor reads its own tenant's admin records unless its key
 * carries `all_tenants` (which also shows the platform's: catalog, bundle, signing key); another
 * tenant's decision id answers exactly as an unknown one.
 */
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Kysely } from "kysely";
import {
  ADMIN_ACTIONS,
  type AdminEntry,
  AuditNotFoundError,
  decisionPosition,
  PLATFORM_TENANT,
  queryAdminRecords,
} from "../../audit/index.js";
import type { Principal } from "../../auth/index.js";
import type { Database } from "../../db/index.js";
import type { QueryAdminRecordsRequest } from "../../gen/sovereign/v1/audit_pb.js";
import { toLogEntry } from "./audit-messages.js";
import { InvalidFieldError } from "./errors.js";

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

export async function queryAdminRecordsFor(
  db: Kysely<Database>,
  principal: Principal,
  req: QueryAdminRecordsRequest,
) {
  if (req.tenant && req.tenant !== principal.tenant && !principal.allTenants)
    throw new ConnectError(
      `tenant: this key reads tenant ${principal.tenant}'s admin records only, not ${req.tenant}`,
      Code.PermissionDenied,
    );
  if (req.action && !Object.hasOwn(ADMIN_ACTIONS, req.action))
    throw new InvalidFieldError(
      "action",
      `is not an admin action (${Object.keys(ADMIN_ACTIONS).join(", ")})`,
    );
  if (req.pageSize < 0) throw new InvalidFieldError("page_size", "must not be negative");
  const from = req.startTime && timestampDate(req.startTime);
  const to = req.endTime && timestampDate(req.endTime);
  if (from && to && from > to) throw new InvalidFieldError("end_time", "is before start_time");

  let tenants: string[] | undefined = req.tenant
    ? [req.tenant]
    : principal.allTenants
      ? undefined
      : [principal.tenant];
  let beforeSeq: number | undefined;
  if (req.beforeDecisionId) {
    if (req.tenant)
      throw new InvalidFieldError(
        "tenant",
        "is not combined with before_decision_id (the decision names it)",
      );
    const at = await decisionPosition(db, req.beforeDecisionId);
    // Another tenant's decision is refused exactly as an unknown id: ids are not revealed across tenants.
    if (!at || (!principal.allTenants && at.tenant !== principal.tenant))
      throw new AuditNotFoundError(`decision ${req.beforeDecisionId} is not in the log`);
    tenants = principal.allTenants ? [at.tenant, PLATFORM_TENANT] : [at.tenant];
    beforeSeq = at.seq;
  }
  const { entries, next } = await queryAdminRecords(
    db,
    { tenants, action: req.action || undefined, from, to, beforeSeq },
    Math.min(req.pageSize || DEFAULT_PAGE, MAX_PAGE),
    req.pageToken ? decodeAdminPageToken(req.pageToken) : undefined,
  );
  return {
    records: entries.map(summary),
    nextPageToken: next === undefined ? "" : encodeAdminPageToken(next),
  };
}

function summary({ entry, record: r }: AdminEntry) {
  return {
    eventId: r.event_id,
    time: timestampFromDate(entry.recordedAt),
    tenant: r.tenant,
    action: r.action,
    seq: BigInt(entry.seq),
    tenantSeq: BigInt(r.tenant_seq),
    callerKind: r.caller.kind,
    callerSubject: r.caller.subject,
    callerKeyId: r.caller.key_id,
    principalTenant: r.principal.tenant,
    principalRoles: [...r.principal.roles],
    target: Object.fromEntries(
      Object.entries(r.target).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : String(v)]),
    ),
    revisionBefore: r.revision ? (r.revision.before ?? undefined) : undefined,
    revisionAfter: r.revision?.after ?? "",
    entry: toLogEntry(entry),
  };
}

/** Opaque page token: base64url of `{s}` — the seq of the page's last (oldest) record. */
function encodeAdminPageToken(seq: number): string {
  return Buffer.from(JSON.stringify({ s: seq })).toString("base64url");
}

function decodeAdminPageToken(token: string): number {
  const bad = () => new InvalidFieldError("page_token", "is not a token this server issued");
  let v: { s?: unknown };
  try {
    v = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (!v || !Number.isSafeInteger(v.s) || (v.s as number) < 0) throw bad();
  return v.s as number;
}
