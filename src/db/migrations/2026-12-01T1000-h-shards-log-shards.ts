import { type Kysely, sql } from "kysely";

/**
 * Log shards (docs/audit.md §10): the log may be split into N shards, each its own dense
 * sequence, Merkle tree and checkpoints. Every log table gets a `shard` column (0 for every
 * existing row: a log before shards is shard 0 of a one-shard log, unchanged), and the keys that
 * were a sequence number become (shard, seq). `audit_log_layout` holds the shard count and map
 * the log was written with: a start with another layout is refused once records exist
 * (src/audit/log-layout.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const shard = (t: string) =>
    sql`alter table ${sql.table(t)} add column shard integer not null default 0 check (shard >= 0)`.execute(
      db,
    );
  for (const t of [
    "audit_log",
    "audit_checkpoints",
    "audit_cosignatures",
    "audit_decisions",
    "audit_admin_events",
  ])
    await shard(t);
  await sql`alter table audit_cosignatures drop constraint if exists audit_cosignatures_size_fkey`.execute(
    db,
  );
  await sql`alter table audit_cosignatures drop constraint audit_cosignatures_pkey`.execute(db);
  await sql`alter table audit_log drop constraint audit_log_pkey`.execute(db);
  await sql`alter table audit_log add primary key (shard, seq)`.execute(db);
  await sql`alter table audit_checkpoints drop constraint audit_checkpoints_pkey`.execute(db);
  await sql`alter table audit_checkpoints add primary key (shard, size)`.execute(db);
  await sql`alter table audit_cosignatures add primary key (shard, size, witness)`.execute(db);
  await sql`alter table audit_cosignatures add foreign key (shard, size) references audit_checkpoints (shard, size)`.execute(
    db,
  );
  await sql`alter table audit_admin_events drop constraint if exists audit_admin_events_seq_key`.execute(db);
  await sql`alter table audit_admin_events add unique (shard, seq)`.execute(db);
  await db.schema
    .createTable("audit_log_layout")
    .addColumn("id", "integer", (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn("shards", "integer", (c) => c.notNull().check(sql`shards >= 1`))
    .addColumn("shard_map", "text", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("audit_log_layout").execute();
  await sql`alter table audit_admin_events drop constraint if exists audit_admin_events_shard_seq_key`.execute(
    db,
  );
  await sql`alter table audit_admin_events add unique (seq)`.execute(db);
  await sql`alter table audit_cosignatures drop constraint if exists audit_cosignatures_shard_size_fkey`.execute(
    db,
  );
  await sql`alter table audit_cosignatures drop constraint audit_cosignatures_pkey`.execute(db);
  await sql`alter table audit_checkpoints drop constraint audit_checkpoints_pkey`.execute(db);
  await sql`alter table audit_checkpoints add primary key (size)`.execute(db);
  await sql`alter table audit_log drop constraint audit_log_pkey`.execute(db);
  await sql`alter table audit_log add primary key (seq)`.execute(db);
  await sql`alter table audit_cosignatures add primary key (size, witness)`.execute(db);
  await sql`alter table audit_cosignatures add foreign key (size) references audit_checkpoints (size)`.execute(
    db,
  );
  for (const t of [
    "audit_admin_events",
    "audit_decisions",
    "audit_cosignatures",
    "audit_checkpoints",
    "audit_log",
  ])
    await sql`alter table ${sql.table(t)} drop column shard`.execute(db);
}
