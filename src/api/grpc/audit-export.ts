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
 *
 * After the entries come the catalog revisions their decision records refer to, each once
 * (docs/audit.md §5): a record names each candidate's data-policy attributes by
 * `catalog_revision` only, and the auditor resolves it offline from the stored canonical
 * document, whose SHA-256 is the revision. A tenant's export carries only its records'
 * revisions. A catalog holds no secret: it is stored after interpolating only allow-listed,
 * non-secret variables (config/env-allowlist.ts), API keys are named by variable, never valued.
 */
import type { Kysely } from "kysely";
import type { Checkpointer, StoredEntry } from "../../audit/index.js";
import {
  checkpointsUpTo,
  cosignaturesOf,
  cosignaturesUpTo,
  countTenantEntries,
  envelopePayload,
  logSize,
  payloadCatalogRevision,
  publishedKeys,
  readEntries,
  readTenantEntries,
} from "../../audit/index.js";
import type { Principal } from "../../auth/index.js";
import { AuthError } from "../../auth/index.js";
import { getRevision } from "../../catalog/index.js";
import type { Database } from "../../db/index.js";
import type { ExportDecisionsRequest } from "../../gen/sovereign/v1/audit_pb.js";
import { checkpointMessage, keyMessage, toLogEntry } from "./audit-messages.js";
import { InvalidFieldError } from "./errors.js";

export interface ExportDeps {
  db: Kysely<Database>;
  checkpointer: Checkpointer;
  /** One per log shard (absent: one shard); the request's `shard` picks the one exported. */
  checkpointers?: readonly Checkpointer[];
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
  // A sharded log is exported shard by shard (docs/audit.md §10): every read below is the shard's.
  const shards = deps.checkpointers ?? [deps.checkpointer];
  const shard = req.shard;
  const cp = shards[shard];
  if (!cp) throw new InvalidFieldError("shard", `is beyond the log's last shard (${shards.length - 1})`);
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
  const end = fresh ? fresh.size : await logSize(deps.db, shard);
  const to = req.toSeq ? Math.min(Number(req.toSeq), end) : end;
  const from = Number(req.fromSeq);
  if (from > to) throw new InvalidFieldError("from_seq", `is beyond the end of the export (${to})`);
  const keys = await publishedKeys(deps.db);
  const scope = tenant ?? "";
  const total = BigInt(
    tenant === undefined ? to - from : await countTenantEntries(deps.db, tenant, from, to, shard),
  );
  for (const k of keys) yield { item: { case: "key" as const, value: keyMessage(k) }, total, tenant: scope };

  // The catalog revisions the exported decision records refer to, in order of first reference.
  const revisions = new Set<string>();
  const refer = (e: StoredEntry) => {
    if (e.kind !== "decision") return;
    const revision = payloadCatalogRevision(envelopePayload(e.envelope));
    if (revision !== undefined) revisions.add(revision);
  };

  if (tenant !== undefined) {
    if (!fresh) return; // an empty log: nothing to prove
    for await (const e of readTenantEntries(deps.db, tenant, from, to, undefined, shard)) {
      refer(e);
      const proof = {
        leafIndex: BigInt(e.seq),
        treeSize: BigInt(fresh.size),
        hashes: await cp.inclusionProof(e.seq, fresh.size),
      };
      yield { item: { case: "entry" as const, value: toLogEntry(e) }, total, tenant, proof };
    }
    yield* catalogMessages(deps, revisions, total, tenant);
    yield {
      item: {
        case: "checkpoint" as const,
        value: checkpointMessage(
          cp.origin,
          fresh,
          (await cosignaturesOf(deps.db, [fresh.size], shard)).get(fresh.size),
        ),
      },
      total,
      tenant,
    };
    return;
  }

  for await (const e of readEntries(deps.db, from, to, undefined, shard)) {
    refer(e);
    yield { item: { case: "entry" as const, value: toLogEntry(e) }, total, tenant: scope };
  }
  yield* catalogMessages(deps, revisions, total, scope);
  // A full export carries every checkpoint up to the fresh one, also one that covers more than
  // the rows left: a cut tail then shows as records a signed checkpoint vouches for but the
  // export lacks. (Later checkpoints cover records written after the export began.)
  const maxSize = req.toSeq ? to : (fresh?.size ?? Number.MAX_SAFE_INTEGER);
  const checkpoints = await checkpointsUpTo(deps.db, maxSize, shard);
  const cosigned = await cosignaturesUpTo(deps.db, maxSize, shard);
  for (const c of checkpoints)
    yield {
      item: { case: "checkpoint" as const, value: checkpointMessage(cp.origin, c, cosigned.get(c.size)) },
      total,
      tenant: scope,
    };
}

/**
 * Each referenced catalog revision, as stored: the canonical JSON's UTF-8 bytes are exactly what
 * its revision id hashes (src/catalog/resolve.ts `catalogRevision`). One the database lacks is
 * left out and logged: the verifier then names it missing, as it names any other gap.
 */
async function* catalogMessages(deps: ExportDeps, revisions: Set<string>, total: bigint, tenant: string) {
  const encoder = new TextEncoder();
  for (const revision of revisions) {
    const stored = await getRevision(deps.db, revision);
    if (!stored) {
      deps.logger?.error({ catalog_revision: revision }, "export: referenced catalog revision is not stored");
      continue;
    }
    const document = encoder.encode(stored.canonical);
    yield { item: { case: "catalog" as const, value: { revision, document } }, total, tenant };
  }
}
