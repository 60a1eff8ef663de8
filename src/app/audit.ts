import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type AdminActor,
  AdminTrail,
  AuditJournal,
  AuditLog,
  Checkpointer,
  currentSigningKey,
  ensureLogLayout,
  LatestCheckpointFile,
  PLATFORM_TENANT,
  parseShardMap,
  publishSigningKey,
  queryAdminRecords,
  rotateSigningKey,
  type ShardLayout,
  type SigningKey,
  SYSTEM_ACTOR,
  saveCosignature,
  shardOrigin,
  WitnessClient,
} from "../audit/index.js";
import { BudgetLedger } from "../budget/index.js";
import { type Config, ConfigError } from "../config/index.js";
import type { DatabaseHandle } from "../db/index.js";
import type { Logger, Metrics } from "../telemetry/index.js";
import type { ShutdownStep } from "./shutdown.js";

/**
 * How long a worker's checkpointer lets a gap before its own leaves wait for a sibling worker's
 * relayed leaves (IPC: well under a millisecond) before it reads and verifies the rows instead.
 */
const SIBLING_GAP_WAIT_MS = 20;

/**
 * The signed log and its checkpointer. The signing key is created on first start and published
 * with its validity range. Stopping the checkpointer (before the log's flush: cleanups run in
 * reverse) drains the log and signs a final checkpoint. The latest one signed is also kept
 * beside the keys: a log cut or rewritten behind it (a fork) stops start-up here. A key published
 * for the first time (the first start, or after `sovr keys generate`) is an admin record
 * (`signing_key.rotate`, by the router itself) before any decision is signed with it.
 */
export async function startAudit(
  config: Config,
  db: DatabaseHandle,
  logger: Logger,
  metrics: Metrics,
  cleanups: ShutdownStep[],
): Promise<{
  audit: AuditLog;
  checkpointer: Checkpointer;
  checkpointers: Checkpointer[];
  witnesses: WitnessClient | undefined;
}> {
  const layout = shardLayout(config);
  // A changed layout on a log that holds records is refused here, before anything is written.
  await ensureLogLayout(db.db, layout);
  let key = await currentSigningKey(config.keysDir);
  if (!key) {
    key = await rotateSigningKey(config.keysDir);
    logger.info({ keyId: key.keyId, dir: config.keysDir }, "generated a new record signing key");
  }
  // A key the log has no record of taking over (the log's first, or a rotation): recorded below, signed by it.
  const rotation = await publishKey(db, key);
  const { journal, appends } = embeddedJournal(config, db.kind, layout);
  const audit = new AuditLog(db.db, db.kind, key, {
    journal,
    journalAppends: appends,
    batchDelayMs: config.audit.batchDelayMs,
    batchMax: config.audit.batchMax,
    commitTimeoutMs: config.storageTimeoutMs,
    // Budget reservations and settlements commit with their records (docs/budgets.md).
    coCommit: new BudgetLedger(),
    layout,
    // Every later request is refused from here on (src/app/router.ts auditFault); the reason once.
    onJournalFault: (fault) =>
      logger.error(
        { err: fault },
        "audit journal: records cannot go into the database; no requests are routed",
      ),
    onBatch: (size, seconds) => {
      metrics.auditBatchSize.observe(size);
      metrics.auditCommitSeconds.observe(seconds);
    },
  });
  cleanups.push({
    name: "audit log flush",
    run: async () => {
      await audit.drain();
      journal?.close();
    },
  });
  // What the journal holds beyond the database goes in before anything reads or appends.
  const replayed = await audit.open();
  if (replayed > 0)
    logger.info(
      { records: replayed },
      "audit journal: records acknowledged before the last stop went into the database",
    );
  // Each checkpoint signed here is offered to the witnesses in the background (never awaited
  // by routing); their cosignatures are stored and served with it (docs/audit.md §6.1). One
  // checkpointer (tree, checkpoints, latest-checkpoint file, witness client) per log shard.
  const checkpointers: Checkpointer[] = [];
  const witnessClients: (WitnessClient | undefined)[] = [];
  for (let k = 0; k < layout.shards; k++) {
    const origin = shardOrigin(config.audit.checkpointOrigin, layout, k);
    let witnesses: WitnessClient | undefined;
    const checkpointer: Checkpointer = new Checkpointer(db.db, db.kind, audit.shard(k), key, {
      origin,
      every: config.audit.checkpointEvery,
      intervalMs: config.audit.checkpointIntervalMs,
      latestFile: new LatestCheckpointFile(
        config.keysDir,
        origin,
        layout.shards === 1 ? undefined : `latest-checkpoint.shard-${k}.note`,
      ),
      logger,
      onSigned: (cp) => witnesses?.submit(cp),
      shard: k,
      // Workers of one server relay their leaves (./cluster): a gap is mostly a sibling's batch.
      gapWaitMs: config.workers > 1 ? SIBLING_GAP_WAIT_MS : 0,
    });
    if (config.audit.witnesses.length > 0) {
      try {
        witnesses = new WitnessClient(config.audit.witnesses, {
          consistencyProof: (m, n) => checkpointer.consistencyProof(m, n),
          save: (c) => saveCosignature(db.db, { ...c, shard: k }),
          logger,
        });
      } catch (err) {
        // A witness key that does not parse is refused at start, not skipped.
        throw new ConfigError("SOVR_WITNESSES", (err as Error).message);
      }
    }
    checkpointers.push(checkpointer);
    witnessClients.push(witnesses);
  }
  for (const c of checkpointers) await c.start();
  // Cleanups run in reverse: the final checkpoint is signed (and offered), then the witnesses'
  // answers are awaited (each request bounded by its timeout and retries), then the log flushes.
  for (const w of witnessClients)
    if (w) cleanups.push({ name: "witness cosignatures", run: () => w.settled() });
  for (const c of checkpointers) cleanups.push({ name: "final checkpoint", run: () => c.stop() });
  const checkpointer = checkpointers[0]!;
  const witnesses = witnessClients[0];
  if (rotation)
    // Fail closed: a key whose taking over cannot be recorded does not start signing decisions.
    await recordKeyRotation(new AdminTrail(audit, config.instance), SYSTEM_ACTOR, rotation);
  return { audit, checkpointer, checkpointers, witnesses };
}

/**
 * The embedded database's audit journal (src/audit/journal.ts), in its data directory, and
 * whether the log appends through it. SOVR_AUDIT_JOURNAL `auto` (the default) appends through it
 * where it can: the embedded database on disk with a log of one shard; `on` where it cannot is a
 * config error. Not appending, a journal an earlier run left is still opened, so that
 * `AuditLog.open()` puts its records into the database before anything else is written.
 * Postgres, or a database in memory, has none.
 */
export function embeddedJournal(
  config: Config,
  kind: DatabaseHandle["kind"],
  layout: ShardLayout,
): { journal: AuditJournal | undefined; appends: boolean } {
  const setting = config.audit.journal;
  if (kind !== "pglite" || config.dataDir.startsWith("memory://")) {
    if (setting === "on")
      throw new ConfigError(
        "SOVR_AUDIT_JOURNAL",
        kind === "pglite"
          ? "needs the embedded database on disk (SOVR_DATA_DIR)"
          : "takes the embedded database only: a Postgres commit is synchronous (fsync), which the journal would weaken",
      );
    return { journal: undefined, appends: false };
  }
  if (setting === "on" && layout.shards > 1)
    throw new ConfigError("SOVR_AUDIT_JOURNAL", "takes a log of one shard (SOVR_LOG_SHARDS=1)");
  const path = join(config.dataDir, "audit.journal");
  const appends = setting === "on" || (setting === "auto" && layout.shards === 1);
  if (!appends) return { journal: existsSync(path) ? new AuditJournal(path) : undefined, appends };
  return { journal: new AuditJournal(path), appends };
}

/** SOVR_LOG_SHARDS and SOVR_LOG_SHARD_MAP as a layout; a map that does not parse stops the start. */
export function shardLayout(config: Config): ShardLayout {
  try {
    return { shards: config.audit.shards, map: parseShardMap(config.audit.shardMap, config.audit.shards) };
  } catch (err) {
    throw new ConfigError("SOVR_LOG_SHARD_MAP", (err as Error).message);
  }
}

/** A signing key taking over, and the one it took over from (null: the log's first). */
export interface KeyRotation {
  keyId: string;
  previous: string | null;
}

/**
 * Publishes `key` (idempotent); returns the rotation when the log holds no record of it yet —
 * its first publication, or one whose record could not be committed then (a start that failed
 * there), so the record is never skipped. A log from before the admin trail gets one for its
 * current key at the first start that has the trail.
 */
export async function publishKey(db: DatabaseHandle, key: SigningKey): Promise<KeyRotation | undefined> {
  const others = await db.db
    .selectFrom("signing_keys")
    .select("key_id")
    .where("key_id", "!=", key.keyId)
    .orderBy("valid_from", "desc")
    .execute();
  await publishSigningKey(db.db, key);
  const rotations = await queryAdminRecords(
    db.db,
    { tenants: [PLATFORM_TENANT], action: "signing_key.rotate" },
    10_000, // rotations are rare: every one of them, read at start only
  );
  if (rotations.entries.some((e) => e.record.target.signing_key_id === key.keyId)) return undefined;
  return { keyId: key.keyId, previous: others[0]?.key_id ?? null };
}

/** The admin record of a rotation (`signing_key.rotate`), signed by the new key. */
export async function recordKeyRotation(trail: AdminTrail, actor: AdminActor, r: KeyRotation): Promise<void> {
  await trail.record(actor, {
    tenant: PLATFORM_TENANT,
    action: "signing_key.rotate",
    target: { signing_key_id: r.keyId },
    revision: { before: r.previous, after: r.keyId },
  });
}
