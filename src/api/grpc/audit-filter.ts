/**
 * The decision filter of QueryDecisions and WatchDecisions, read from either request: the same
 * fields, the same checks and the same tenant wall (an auditor reads its own tenant unless its
 * key carries `all_tenants`; naming another tenant is PermissionDenied on `tenant`).
 */
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { DecisionFilter } from "../../audit/index.js";
import type { Principal } from "../../auth/index.js";
import type { AuditDecisionRow } from "../../db/index.js";
import { Outcome, type QueryDecisionsRequest } from "../../gen/sovereign/v1/audit_pb.js";
import { facetFilter } from "./audit-facet-filter.js";
import { InvalidFieldError } from "./errors.js";

export const OUTCOMES: Record<AuditDecisionRow["outcome"], Outcome> = {
  pending: Outcome.PENDING,
  success: Outcome.SUCCESS,
  failed: Outcome.FAILED,
  denied: Outcome.DENIED,
};

type FilterFields = Pick<
  QueryDecisionsRequest,
  "startTime" | "endTime" | "tenant" | "model" | "endpointId" | "outcome" | "policyRevision"
> &
  Parameters<typeof facetFilter>[0];

export function decisionFilter(req: FilterFields, principal: Principal): DecisionFilter {
  if (req.tenant && req.tenant !== principal.tenant && !principal.allTenants)
    throw new ConnectError(
      `tenant: this key reads tenant ${principal.tenant}'s decisions only, not ${req.tenant}`,
      Code.PermissionDenied,
    );
  const from = req.startTime && timestampDate(req.startTime);
  const to = req.endTime && timestampDate(req.endTime);
  if (from && to && from > to) throw new InvalidFieldError("end_time", "is before start_time");
  const outcome = req.outcome
    ? (Object.entries(OUTCOMES).find(([, v]) => v === req.outcome)?.[0] as
        | AuditDecisionRow["outcome"]
        | undefined)
    : undefined;
  if (req.outcome && !outcome) throw new InvalidFieldError("outcome", `unknown value ${req.outcome}`);
  return {
    from,
    to,
    tenant: req.tenant || (principal.allTenants ? undefined : principal.tenant),
    model: req.model || undefined,
    endpointId: req.endpointId || undefined,
    outcome,
    policyRevision: req.policyRevision || undefined,
    ...facetFilter(req),
  };
}

/** A decision's index row as the wire's DecisionSummary. */
export function decisionSummary(r: AuditDecisionRow) {
  return {
    decisionId: r.decision_id,
    time: timestampFromDate(r.recorded_at),
    tenant: r.tenant,
    model: r.model,
    endpointId: r.endpoint_id ?? "",
    outcome: OUTCOMES[r.outcome],
    policyRevision: r.policy_revision,
    decisionSeq: BigInt(r.decision_seq),
    outcomeSeq: r.outcome_seq === null ? undefined : BigInt(r.outcome_seq),
    keyId: r.key_id ?? "",
  };
}
