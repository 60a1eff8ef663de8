/**
 * The live decision feed (docs/audit.md, "Live feed"): log entries in sequence order from a
 * resume point, filtered like the decision query, delivered as they commit.
 *
 * Every entry is read from the database, never from memory: the in-process {@link CommitSignal}
 * only wakes a waiting feed when this replica commits, and a poll every
 * {@link FEED_POLL_MS} picks up what other replicas commit to the same Postgres. The feed is a
 * pull-based generator reading at most {@link FEED_PAGE} rows ahead of its consumer, so a slow
 * reader pauses the database reads instead of filling a buffer: nothing is dropped, and however
 * far behind it falls it goes on from the last sequence number it read.
 */
import type { Kysely } from "kysely";
import type { AuditDecisionRow, Database } from "../db/index.js";
import {
  type DecisionFilter,
  decisionFilterExpression,
  logSize,
  type StoredEntry,
  toEntry,
} from "./audit-store.js";

/** Rows read per query: the most the feed holds ahead of its consumer. */
export const FEED_PAGE = 100;
/** How often a following feed looks for entries other replicas committed. */
export const FEED_POLL_MS = 1000;

/**
 * Wakes feeds when this process commits log entries (AuditLog.onCommitted). A generation
 * counter closes the gap between "read the head" and "wait": a commit in between is not missed.
 */
export class CommitSignal {
  #generation = 0;
  #waiters = new Set<() => void>();

  get generation(): number {
    return this.#generation;
  }

  notify(): void {
    this.#generation++;
    for (const w of this.#waiters) w();
    this.#waiters.clear();
  }

  /** Resolves when a commit happened after `seen`, after `ms`, or when `signal` aborts. */
  wait(seen: number, ms: number, signal: AbortSignal): Promise<void> {
    if (this.#generation !== seen || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.#waiters.add(done);
    });
  }
}

/** One entry of the feed with its decision's index row as it stood when read. */
export interface FeedEntry {
  entry: StoredEntry;
  decision: AuditDecisionRow;
  /** Record format v2's per-tenant sequence, read from the signed payload; undefined for v1. */
  tenantSeq: number | undefined;
}

export type FeedItem =
  | { kind: "entry"; value: FeedEntry; nextSeq: number }
  | { kind: "caught_up"; nextSeq: number };

export interface FeedOptions {
  /** First sequence number; undefined = the head when the feed starts (new entries only). */
  fromSeq: number | undefined;
  /** Keep going after the catch-up read (else the feed ends there). */
  follow: boolean;
  filter: DecisionFilter;
  signal: AbortSignal;
  commits: CommitSignal;
  /**
   * The log shard to follow (default 0; docs/audit.md §10): sequence numbers are a shard's, so a
   * feed follows one shard and resumes there. A feed over a sharded log runs once per shard.
   */
  shard?: number;
}

/** The feed: entries with seq ≥ fromSeq matching the filter, in order, each once. */
export async function* decisionFeed(db: Kysely<Database>, o: FeedOptions): AsyncGenerator<FeedItem> {
  const shard = o.shard ?? 0;
  let next = o.fromSeq ?? (await logSize(db, shard));
  let caughtUp = false;
  while (!o.signal.aborted) {
    const seen = o.commits.generation;
    // Seq numbers are dense and committed in order under the sequencer lock, so everything
    // below the committed head is visible and nothing will appear there later.
    const head = await logSize(db, shard);
    while (next < head && !o.signal.aborted) {
      const page = await readFeedPage(db, next, head, o.filter, shard);
      next = page.length < FEED_PAGE ? head : page.at(-1)!.entry.seq + 1;
      for (let i = 0; i < page.length; i++) {
        const nextSeq = i === page.length - 1 ? next : page[i]!.entry.seq + 1;
        yield { kind: "entry", value: page[i]!, nextSeq };
      }
    }
    if (!caughtUp) {
      caughtUp = true;
      yield { kind: "caught_up", nextSeq: next };
      if (!o.follow) return;
    }
    await o.commits.wait(seen, FEED_POLL_MS, o.signal);
  }
}

async function readFeedPage(
  db: Kysely<Database>,
  from: number,
  to: number,
  filter: DecisionFilter,
  shard: number,
): Promise<FeedEntry[]> {
  const rows = await db
    .selectFrom("audit_log")
    .innerJoin("audit_decisions", "audit_decisions.decision_id", "audit_log.decision_id")
    .selectAll("audit_log")
    .select([
      "audit_decisions.recorded_at as d_recorded_at",
      "audit_decisions.tenant as d_tenant",
      "audit_decisions.model as d_model",
      "audit_decisions.endpoint_id as d_endpoint_id",
      "audit_decisions.outcome as d_outcome",
      "audit_decisions.policy_revision as d_policy_revision",
      "audit_decisions.policy_sha256 as d_policy_sha256",
      "audit_decisions.catalog_revision as d_catalog_revision",
      "audit_decisions.decision_seq as d_decision_seq",
      "audit_decisions.outcome_seq as d_outcome_seq",
      "audit_decisions.key_id as d_key_id",
      "audit_decisions.input_tokens as d_input_tokens",
      "audit_decisions.output_tokens as d_output_tokens",
      "audit_decisions.cost_micro_usd as d_cost_micro_usd",
      "audit_decisions.facets as d_facets",
    ])
    .where("audit_log.shard", "=", shard)
    .where("audit_log.seq", ">=", from)
    .where("audit_log.seq", "<", to)
    .where((eb) => decisionFilterExpression(eb, filter))
    .orderBy("audit_log.seq")
    .limit(FEED_PAGE)
    .execute();
  return rows.map((r) => {
    const entry = toEntry(r);
    return {
      entry,
      decision: {
        decision_id: r.decision_id,
        shard,
        recorded_at: r.d_recorded_at,
        tenant: r.d_tenant,
        model: r.d_model,
        endpoint_id: r.d_endpoint_id,
        outcome: r.d_outcome,
        policy_revision: r.d_policy_revision,
        policy_sha256: r.d_policy_sha256,
        catalog_revision: r.d_catalog_revision,
        decision_seq: Number(r.d_decision_seq),
        outcome_seq: r.d_outcome_seq === null ? null : Number(r.d_outcome_seq),
        key_id: r.d_key_id,
        input_tokens: r.d_input_tokens === null ? null : Number(r.d_input_tokens),
        output_tokens: r.d_output_tokens === null ? null : Number(r.d_output_tokens),
        facets: r.d_facets,
        cost_micro_usd: r.d_cost_micro_usd === null ? null : Number(r.d_cost_micro_usd),
      },
      tenantSeq: payloadTenantSeq(entry),
    };
  });
}

function payloadTenantSeq(e: StoredEntry): number | undefined {
  try {
    const record = JSON.parse(Buffer.from(e.envelope.payload, "base64").toString("utf8")) as {
      tenant_seq?: unknown;
    };
    return typeof record.tenant_seq === "number" ? record.tenant_seq : undefined;
  } catch {
    return undefined;
  }
}
