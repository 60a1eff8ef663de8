import type { AppendedEntry, AuditLog } from "../audit/index.js";
import { decisionFacets, encodeSequenced, receiptIssuer } from "../audit/index.js";
import type { BudgetRefusal, HoldWork, SettleWork } from "../budget/index.js";
import { type BudgetAmount, budgetDeniedRecord } from "./budget-hold.js";
import type { DecisionRecordV1, OutcomeRecordV1 } from "./decision-record.js";
import type { DecisionIndexInput, DecisionRecorder, RecordedDecision } from "./router.js";

export interface AuditRecorderOptions {
  /**
   * Why the log can no longer be vouched for (the checkpointer's integrity fault: a fork, an
   * altered row), if it cannot. While set, decision records are refused, so the router fails
   * closed: nothing is routed into a log whose state no signed checkpoint can cover.
   */
  fault?: () => Error | undefined;
  /**
   * The log's checkpoint origin: with it, each decision record durable gives its receipt. With
   * log shards, a function of the record's shard (its origin `<origin>/shard-<k>` names the shard).
   */
  origin?: string | ((shard: number) => string);
}

/**
 * Routes decision and outcome records into the signed, durable audit log, as format v2: the
 * log gives each its tenant_seq as it signs.
 */
export class AuditRecorder implements DecisionRecorder {
  readonly #receipt: ((decisionId: string, entry: AppendedEntry & { shard?: number }) => string) | undefined;

  constructor(
    private readonly log: AuditLog,
    private readonly opts: AuditRecorderOptions = {},
  ) {
    const origin = opts.origin;
    if (typeof origin === "function") {
      const issuers = new Map<number, (decisionId: string, entry: AppendedEntry) => string>();
      this.#receipt = (id, entry) => {
        const k = entry.shard ?? 0;
        let issue = issuers.get(k);
        if (!issue) {
          issue = receiptIssuer(origin(k));
          issuers.set(k, issue);
        }
        return issue(id, entry);
      };
    } else this.#receipt = origin === undefined ? undefined : receiptIssuer(origin);
  }

  async recordDecision(given: DecisionRecordV1, index: DecisionIndexInput): Promise<RecordedDecision> {
    const fault = this.opts.fault?.();
    if (fault) throw fault;
    // A sharded log's decision names its log shard, signed with it (docs/audit.md §10: the
    // shard's number in decimal); "" in a one-shard log, as always.
    const record =
      this.log.shardCount > 1 ? { ...given, shard: String(this.log.shardOf(given.principal.tenant)) } : given;
    const rowOf = (r: DecisionRecordV1, outcome: DecisionIndexInput["outcome"]) => ({
      tenant: index.tenant,
      model: index.model,
      endpoint_id: r.plan[0] ?? null,
      outcome,
      policy_revision: index.bundle.revision,
      policy_sha256: index.bundle.sha256,
      catalog_revision: index.catalogRevision,
      key_id: record.caller.key_id,
      facets: decisionFacets(r),
    });
    // A reservation rides in the record's commit; refused, the log writes the denial instead.
    const hold: HoldWork | undefined = index.hold && {
      kind: "hold",
      decisionId: record.decision_id,
      tenant: record.principal.tenant,
      keyId: record.caller.key_id,
      timeMs: Math.floor(record.time_us / 1000),
      ...index.hold,
    };
    const appended = await this.log.append({
      kind: "decision",
      decisionId: record.decision_id,
      recordedAt: new Date(Math.floor(record.time_us / 1000)),
      tenant: record.principal.tenant,
      encode: (tenantSeq) => encodeSequenced(record, tenantSeq),
      index: rowOf(record, index.outcome),
      ...(hold
        ? {
            work: hold,
            refused: (refusal: unknown) => {
              const denied = budgetDeniedRecord(record, refusal as BudgetRefusal);
              return {
                encode: (tenantSeq: number) => encodeSequenced(denied, tenantSeq),
                index: rowOf(denied, "denied"),
              };
            },
          }
        : {}),
    });
    // The receipt of what was written (the denial, when the reservation was refused): the
    // append already returned its seq, leaf hash and signature, so nothing is signed for it.
    return {
      ...(appended.refusal !== undefined ? { refusal: appended.refusal as BudgetRefusal } : {}),
      ...(this.#receipt ? { receipt: this.#receipt(record.decision_id, appended) } : {}),
    };
  }

  async recordOutcome(record: OutcomeRecordV1, settle?: BudgetAmount): Promise<void> {
    if (record.tenant === undefined) throw new Error(`outcome of ${record.decision_id} names no tenant`);
    const tenant = record.tenant;
    await this.log.append({
      kind: "outcome",
      decisionId: record.decision_id,
      recordedAt: new Date(Math.floor(record.time_us / 1000)),
      tenant,
      encode: (tenantSeq) => encodeSequenced(record, tenantSeq),
      outcome: record.outcome,
      endpointId: record.endpoint_used,
      usage: {
        input_tokens: record.usage?.prompt_tokens ?? null,
        output_tokens: record.usage?.completion_tokens ?? null,
        cost_micro_usd: record.cost_micro_usd,
      },
      ...(settle
        ? { work: { kind: "settle", decisionId: record.decision_id, ...settle } satisfies SettleWork }
        : {}),
    });
  }
}
