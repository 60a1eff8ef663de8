/**
 * ExportDecisions (docs/audit.md §5, §8): what an auditor may export, and the stream of keys,
 * entries and checkpoints it gets.
 *
 * The caller's scope decides: an auditor without the all-tenants grant gets its own tenant's
 * records only; with the grant, the whole log, or one tenant's when it names one. A whole-log
 * export is verified as one dense Merkle log from its checkpoints; a tenant's records are not
 * contiguous in the log, so a tenant-scoped export carries, with each entry, its RFC 9162
 * inclusion proof to the export's fresh signed checkpoint (the one checkpoint it carries), and
 * the verifier shows completeness by the records' dense `tenant_seq`.
 */
import type { Kysely } from "kysely";
import type { Checkpointer } from "../../audit/index.js";
import {
  checkpointsUpTo,
  countTenantEntries,
  logSize,
  publishedKeys,
  readEntries,
  readTenantEntries,
} from "../../audit/index.js";
import type { Principal } from "../../auth/index.js";
import { AuthError } from "../../auth/index.js";
import type { Database } from "../../db/index.js";
import type { ExportDecisionsRequest } from "../../gen/sovereign/v1/audit_pb.js";
import { checkpointMessage, keyMessage, toLogEntry } from "./audit-messages.js";
import { InvalidFieldError } from "./errors.js";

export interface ExportDeps {
  db: Kysely<Database>;
  checkpointer: Checkpointer;
  logger?: { error(obj: object, msg: string): void };
}

/**
 * The tenant an export is scoped to (undefined: the whole log). Naming another tenant without
 * the all-tenants grant is refused, not narrowed silently: the caller learns why.
 */
export function exportScope(principal: Principal, requested: string): string | undefined {
  if (principal.allTenants) return requested || undefined;
  if (requested && requested !== principal.tenant) {
    throw new AuthError(
      "permission_denied",
      `tenant: key ${principal.keyId || "(none)"} may export only tenant ${principal.tenant}, not ${requested}`,
    );
  }
  return principal.tenant;
}

/** The export's messages: every key, then entries `from_seq`..`to_seq`, then checkpoints. */
export async function* exportMessages(
  deps: ExportDeps,
  req: ExportDecisionsRequest,
  tenant: string | undefined,
) {
  const cp = deps.checkpointer;
  // A fresh checkpoint first, and the export ends at it, so it verifies completely: records
  // committed meanwhile belong to the next export (read after, they would stand outside every
  // checkpoint). Should the checkpointer refuse (the log does not add up), a whole-log export
  // still goes out, to the end of the log: the verifier names why. A tenant's export cannot:
  // its proofs need that checkpoint, so the refusal (DATA_LOSS) is the answer.
  const fresh = await cp.checkpoint().catch((err: unknown) => {
    if (tenant !== undefined) throw err;
    deps.logger?.error({ err }, "export: no fresh checkpoint");
    return undefined;
  });
  const end = fresh ? fresh.size : await logSize(deps.db);
  const to = req.toSeq ? Math.min(Number(req.toSeq), end) : end;
  const from = Number(req.fromSeq);
  if (from > to) throw new InvalidFieldError("from_seq", `is beyond the end of the export (${to})`);
  const keys = await publishedKeys(deps.db);
  const scope = tenant ?? "";
  const total = BigInt(
    tenant === undefined ? to - from : await countTenantEntries(deps.db, tenant, from, to),
  );
  for (const k of keys) yield { item: { case: "key" as const, value: keyMessage(k) }, total, tenant: scope };

  if (tenant !== undefined) {
    if (!fresh) return; // an empty log: nothing to prove
    for await (const e of readTenantEntries(deps.db, tenant, from, to)) {
      const proof = {
        leafIndex: BigInt(e.seq),
        treeSize: BigInt(fresh.size),
        hashes: await cp.inclusionProof(e.seq, fresh.size),
      };
      yield { item: { case: "entry" as const, value: toLogEntry(e) }, total, tenant, proof };
    }
    yield {
      item: { case: "checkpoint" as const, value: checkpointMessage(cp.origin, fresh) },
      total,
      tenant,
    };
    return;
  }

  for await (const e of readEntries(deps.db, from, to))
    yield { item: { case: "entry" as const, value: toLogEntry(e) }, total, tenant: scope };
  // A full export carries every checkpoint up to the fresh one, also one that covers more than
  // the rows left: a cut tail then shows as records a signed checkpoint vouches for but the
  // export lacks. (Later checkpoints cover records written after the export began.)
  const maxSize = req.toSeq ? to : (fresh?.size ?? Number.MAX_SAFE_INTEGER);
  for (const c of await checkpointsUpTo(deps.db, maxSize))
    yield {
      item: { case: "checkpoint" as const, value: checkpointMessage(cp.origin, c) },
      total,
      tenant: scope,
    };
}
