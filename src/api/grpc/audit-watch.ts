/**
 * AuditService.WatchDecisions (docs/audit.md, "Live feed"): the feed of src/audit/decision-feed.ts
 * as wire messages. The caller's filter (audit-filter.ts) already carries its tenant wall.
 */
import type { Kysely } from "kysely";
import { type CommitSignal, type DecisionFilter, decisionFeed } from "../../audit/index.js";
import type { Database } from "../../db/index.js";
import type { WatchDecisionsRequest } from "../../gen/sovereign/v1/audit_pb.js";
import { decisionSummary } from "./audit-filter.js";
import { toLogEntry } from "./audit-messages.js";
import { InvalidFieldError } from "./errors.js";

export async function* watchMessages(
  db: Kysely<Database>,
  commits: CommitSignal,
  req: WatchDecisionsRequest,
  filter: DecisionFilter,
  signal: AbortSignal,
  shard = 0,
) {
  if (req.fromSeq !== undefined && req.fromSeq > BigInt(Number.MAX_SAFE_INTEGER))
    throw new InvalidFieldError("from_seq", "is beyond any sequence number");
  const feed = decisionFeed(db, {
    fromSeq: req.fromSeq === undefined ? undefined : Number(req.fromSeq),
    follow: req.follow,
    filter,
    signal,
    commits,
    shard,
  });
  for await (const item of feed) {
    if (item.kind === "caught_up") {
      yield { caughtUp: true, nextSeq: BigInt(item.nextSeq), shard };
      continue;
    }
    const { entry, decision, tenantSeq } = item.value;
    yield {
      entry: toLogEntry(entry),
      decision: decisionSummary(decision),
      tenantSeq: tenantSeq === undefined ? undefined : BigInt(tenantSeq),
      nextSeq: BigInt(item.nextSeq),
      shard,
    };
  }
}
