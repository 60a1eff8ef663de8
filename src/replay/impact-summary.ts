/**
 * Policy impact's tally (pure): decision by decision, what a draft bundle changes — routed →
 * denied and the reverse, per rule, per tenant and per endpoint — with a few example decision
 * ids of each kind. {@link ImpactTally.add} takes one replayed decision's changes.
 */
import type { DecisionChanges, Verdict } from "./verdicts.js";
import { unchanged } from "./verdicts.js";

const EXAMPLES = 5;

export interface RuleImpact {
  stage: string;
  rule: string;
  newlyExcluded: number;
  noLongerExcluded: number;
  allowedToDenied: number;
  deniedToAllowed: number;
  examples: string[];
}

export interface TenantImpact {
  tenant: string;
  replayed: number;
  changed: number;
  allowedToDenied: number;
  deniedToAllowed: number;
}

export interface EndpointImpact {
  endpointId: string;
  becameIneligible: number;
  becameEligible: number;
  examples: string[];
}

export interface ImpactSummary {
  replayed: number;
  unchanged: number;
  allowedToDenied: number;
  deniedToAllowed: number;
  otherwiseChanged: number;
  errors: number;
  unavailable: number;
  truncated: boolean;
  rules: RuleImpact[];
  tenants: TenantImpact[];
  endpoints: EndpointImpact[];
  examples: {
    allowedToDenied: string[];
    deniedToAllowed: string[];
    otherwiseChanged: string[];
    errors: string[];
  };
}

/** One replayed decision: who, whether it was routed before and after, what changed. */
export interface ReplayedDecision {
  decisionId: string;
  tenant: string;
  allowedBefore: boolean;
  allowedAfter: boolean;
  changes: DecisionChanges;
}

const ruleKey = (stage: string, rule: string) => `${stage}:${rule}`;
const rulesOf = (v: Verdict | undefined) =>
  new Map((v?.exclusions ?? []).map((e) => [ruleKey(e.stage, e.rule), e] as const));

function pushExample(list: string[], id: string): void {
  if (list.length < EXAMPLES && !list.includes(id)) list.push(id);
}

export class ImpactTally {
  readonly #s: ImpactSummary = {
    replayed: 0,
    unchanged: 0,
    allowedToDenied: 0,
    deniedToAllowed: 0,
    otherwiseChanged: 0,
    errors: 0,
    unavailable: 0,
    truncated: false,
    rules: [],
    tenants: [],
    endpoints: [],
    examples: { allowedToDenied: [], deniedToAllowed: [], otherwiseChanged: [], errors: [] },
  };
  readonly #rules = new Map<string, RuleImpact>();
  readonly #tenants = new Map<string, TenantImpact>();
  readonly #endpoints = new Map<string, EndpointImpact>();

  get replayed(): number {
    return this.#s.replayed;
  }

  /** The draft could not decide this decision (a policy error: it would fail closed). */
  error(decisionId: string, tenant: string): void {
    this.#s.errors++;
    this.#tenant(tenant).replayed++;
    this.#tenant(tenant).changed++;
    this.#s.replayed++;
    pushExample(this.#s.examples.errors, decisionId);
  }

  /** The decision could not be replayed (its catalog revision is not stored). */
  unavailable(): void {
    this.#s.unavailable++;
  }

  truncated(): void {
    this.#s.truncated = true;
  }

  add(d: ReplayedDecision): void {
    this.#s.replayed++;
    const tenant = this.#tenant(d.tenant);
    tenant.replayed++;
    if (unchanged(d.changes)) {
      this.#s.unchanged++;
      return;
    }
    tenant.changed++;
    const flip =
      d.allowedBefore && !d.allowedAfter
        ? "allowedToDenied"
        : !d.allowedBefore && d.allowedAfter
          ? "deniedToAllowed"
          : undefined;
    if (flip) {
      this.#s[flip]++;
      tenant[flip]++;
      pushExample(this.#s.examples[flip], d.decisionId);
    } else {
      this.#s.otherwiseChanged++;
      pushExample(this.#s.examples.otherwiseChanged, d.decisionId);
    }
    // Rules that now exclude a candidate they did not, and the reverse; a decision that
    // flipped counts once under each rule among its causes.
    const added = new Set<RuleImpact>();
    const removed = new Set<RuleImpact>();
    for (const c of d.changes.candidates) {
      const before = rulesOf(c.before);
      const after = rulesOf(c.after);
      for (const [k, e] of after)
        if (!before.has(k)) {
          const r = this.#rule(e.stage, e.rule);
          r.newlyExcluded++;
          added.add(r);
          pushExample(r.examples, d.decisionId);
        }
      for (const [k, e] of before)
        if (!after.has(k)) {
          const r = this.#rule(e.stage, e.rule);
          r.noLongerExcluded++;
          removed.add(r);
          pushExample(r.examples, d.decisionId);
        }
      const was = c.before?.eligible ?? false;
      const is = c.after?.eligible ?? false;
      if (was !== is) {
        const ep = this.#endpoint(c.endpointId);
        if (was) ep.becameIneligible++;
        else ep.becameEligible++;
        pushExample(ep.examples, d.decisionId);
      }
    }
    if (flip === "allowedToDenied") for (const r of added) r.allowedToDenied++;
    if (flip === "deniedToAllowed") for (const r of removed) r.deniedToAllowed++;
  }

  /** The summary, each list most affected first. */
  summary(): ImpactSummary {
    const weight = (r: RuleImpact) => r.newlyExcluded + r.noLongerExcluded;
    return {
      ...this.#s,
      rules: [...this.#rules.values()].sort(
        (a, b) => weight(b) - weight(a) || ruleKey(a.stage, a.rule).localeCompare(ruleKey(b.stage, b.rule)),
      ),
      tenants: [...this.#tenants.values()].sort(
        (a, b) => b.changed - a.changed || a.tenant.localeCompare(b.tenant),
      ),
      endpoints: [...this.#endpoints.values()].sort(
        (a, b) =>
          b.becameIneligible + b.becameEligible - (a.becameIneligible + a.becameEligible) ||
          a.endpointId.localeCompare(b.endpointId),
      ),
    };
  }

  #rule(stage: string, rule: string): RuleImpact {
    const k = ruleKey(stage, rule);
    let r = this.#rules.get(k);
    if (!r) {
      r = {
        stage,
        rule,
        newlyExcluded: 0,
        noLongerExcluded: 0,
        allowedToDenied: 0,
        deniedToAllowed: 0,
        examples: [],
      };
      this.#rules.set(k, r);
    }
    return r;
  }

  #tenant(tenant: string): TenantImpact {
    let t = this.#tenants.get(tenant);
    if (!t) {
      t = { tenant, replayed: 0, changed: 0, allowedToDenied: 0, deniedToAllowed: 0 };
      this.#tenants.set(tenant, t);
    }
    return t;
  }

  #endpoint(endpointId: string): EndpointImpact {
    let e = this.#endpoints.get(endpointId);
    if (!e) {
      e = { endpointId, becameIneligible: 0, becameEligible: 0, examples: [] };
      this.#endpoints.set(endpointId, e);
    }
    return e;
  }
}
