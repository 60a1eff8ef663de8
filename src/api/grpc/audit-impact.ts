/**
 * AuditService.PolicyImpact (docs/policies.md, "Before activating a bundle"): checks the
 * request, draws the tenant wall, runs the replayer's impact and translates its events into
 * messages. An auditor replays its own tenant's decisions (naming another is PermissionDenied
 * on `tenant`, known or not); an operator or an all-tenant auditor any tenant's, or all.
 */
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Principal } from "../../auth/index.js";
import type { PolicyImpactRequest } from "../../gen/sovereign/v1/audit_pb.js";
import { ExclusionStage } from "../../gen/sovereign/v1/router_pb.js";
import { PolicyBundleError } from "../../policy/index.js";
import {
  IMPACT_LIMITS,
  ImpactBusyError,
  type ImpactOptions,
  type ImpactSummary,
  type Replayer,
} from "../../replay/index.js";
import { InvalidFieldError } from "./errors.js";

const STAGES: Record<string, ExclusionStage> = {
  policy: ExclusionStage.POLICY,
  filter: ExclusionStage.FILTER,
  availability: ExclusionStage.AVAILABILITY,
};

/** Sees every tenant's decisions: an operator, or an auditor granted all tenants. */
const seesAll = (p: Principal) => p.allTenants || p.roles.includes("operator");

/** The request as impact options, the caller's tenant wall applied; throws on a bad field. */
export function impactOptions(req: PolicyImpactRequest, principal: Principal, now: Date): ImpactOptions {
  if (req.bundle.length === 0) throw new InvalidFieldError("bundle", "is required (a .tar.gz policy bundle)");
  if (req.bundle.length > IMPACT_LIMITS.bundleBytes)
    throw new InvalidFieldError("bundle", `exceeds ${IMPACT_LIMITS.bundleBytes} bytes`);
  if (!req.startTime) throw new InvalidFieldError("start_time", "is required");
  const from = timestampDate(req.startTime);
  const to = req.endTime ? timestampDate(req.endTime) : now;
  if (from >= to) throw new InvalidFieldError("end_time", "must be after start_time");
  if (req.limit > IMPACT_LIMITS.maxLimit)
    throw new InvalidFieldError("limit", `must be at most ${IMPACT_LIMITS.maxLimit}`);
  if (!(req.sample >= 0 && req.sample <= 1))
    throw new InvalidFieldError("sample", "must be a fraction in (0, 1] (0: every decision)");
  if (req.tenant && req.tenant !== principal.tenant && !seesAll(principal))
    throw new ConnectError(
      `tenant: this key replays tenant ${principal.tenant}'s decisions only`,
      Code.PermissionDenied,
    );
  return {
    bundle: req.bundle,
    from,
    to,
    tenant: req.tenant || (seesAll(principal) ? undefined : principal.tenant),
    limit: req.limit || IMPACT_LIMITS.defaultLimit,
    sample: req.sample || 1,
  };
}

/** The impact run's events as PolicyImpactResponse messages. */
export async function* impactMessages(replayer: Replayer, o: ImpactOptions) {
  try {
    for await (const e of replayer.impact(o)) {
      if (e.kind === "progress") yield { replayed: BigInt(e.replayed) };
      else
        yield {
          replayed: BigInt(e.summary.replayed),
          summary: summaryMessage(e.summary, e.draft, o),
        };
    }
  } catch (err) {
    // The draft is the caller's input: a bundle that does not read or load is a bad field.
    if (err instanceof PolicyBundleError) throw new InvalidFieldError("bundle", err.message);
    // One run at a time: back off and retry.
    if (err instanceof ImpactBusyError) throw new ConnectError(err.message, Code.ResourceExhausted);
    throw err;
  }
}

function summaryMessage(s: ImpactSummary, draft: { revision: string; sha256: string }, o: ImpactOptions) {
  const n = BigInt;
  return {
    draft: { revision: draft.revision, sha256: draft.sha256 },
    startTime: timestampFromDate(o.from),
    endTime: timestampFromDate(o.to),
    replayed: n(s.replayed),
    unchanged: n(s.unchanged),
    allowedToDenied: n(s.allowedToDenied),
    deniedToAllowed: n(s.deniedToAllowed),
    otherwiseChanged: n(s.otherwiseChanged),
    errors: n(s.errors),
    unavailable: n(s.unavailable),
    truncated: s.truncated,
    rules: s.rules.map((r) => ({
      stage: STAGES[r.stage] ?? ExclusionStage.UNSPECIFIED,
      rule: r.rule,
      newlyExcluded: n(r.newlyExcluded),
      noLongerExcluded: n(r.noLongerExcluded),
      allowedToDenied: n(r.allowedToDenied),
      deniedToAllowed: n(r.deniedToAllowed),
      examples: r.examples,
    })),
    tenants: s.tenants.map((t) => ({
      tenant: t.tenant,
      replayed: n(t.replayed),
      changed: n(t.changed),
      allowedToDenied: n(t.allowedToDenied),
      deniedToAllowed: n(t.deniedToAllowed),
    })),
    endpoints: s.endpoints.map((e) => ({
      endpointId: e.endpointId,
      becameIneligible: n(e.becameIneligible),
      becameEligible: n(e.becameEligible),
      examples: e.examples,
    })),
    allowedToDeniedExamples: s.examples.allowedToDenied,
    deniedToAllowedExamples: s.examples.deniedToAllowed,
    otherwiseChangedExamples: s.examples.otherwiseChanged,
    errorExamples: s.examples.errors,
  };
}
