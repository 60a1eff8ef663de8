import {
  AdminTrail,
  type AuditJournal,
  AuditLog,
  currentSigningKey,
  ensureLogLayout,
  LOCAL_ACTOR,
  rotateSigningKey,
} from "../audit/index.js";
import { type Config, ensurePrivateDir } from "../config/index.js";
import { type DatabaseHandle, openDatabase } from "../db/index.js";
import { embeddedJournal, publishKey, recordKeyRotation, shardLayout } from "./audit.js";

/**
 * The database and an admin trail for the `sovr keys …` commands run without a server (no
 * `SOVR_KEY`; docs/audit.md §1.2): a change made this way is recorded like any other, by
 * `LOCAL_ACTOR`, in the same signed log, signed with the current record-signing key — created
 * and published here when there is none yet, as a server's first start would, and that
 * rotation recorded first. `fn` records each change before making it; when a record cannot be
 * committed the trail throws and `fn` changes nothing (fail closed). The log is drained and the
 * database closed before this resolves.
 */
export async function withLocalTrail<T>(
  config: Config,
  fn: (db: DatabaseHandle["db"], trail: AdminTrail) => Promise<T>,
): Promise<T> {
  // A new private key goes only into a directory no other user can reach.
  await ensurePrivateDir(config.keysDir, "signing keys directory");
  const h = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    storageTimeoutMs: config.storageTimeoutMs,
    sharedBuffersMiB: config.pgliteSharedBuffersMiB,
  });
  let audit: AuditLog | undefined;
  let journal: AuditJournal | undefined;
  try {
    // The servers' shard layout: a tenant's admin record goes to its tenant's shard (log-shards.ts).
    const layout = shardLayout(config);
    await ensureLogLayout(h.db, layout);
    const key = (await currentSigningKey(config.keysDir)) ?? (await rotateSigningKey(config.keysDir));
    const rotation = await publishKey(h, key);
    // Records a server acknowledged from its journal go in before this writes any.
    const embedded = embeddedJournal(config, h.kind, layout);
    journal = embedded.journal;
    audit = new AuditLog(h.db, h.kind, key, {
      journal,
      journalAppends: embedded.appends,
      batchDelayMs: 0,
      batchMax: config.audit.batchMax,
      commitTimeoutMs: config.storageTimeoutMs,
      layout,
    });
    await audit.open();
    const trail = new AdminTrail(audit, config.instance);
    if (rotation) await recordKeyRotation(trail, LOCAL_ACTOR, rotation);
    return await fn(h.db, trail);
  } finally {
    await audit?.drain();
    journal?.close();
    await h.close();
  }
}
