import { type Kysely, sql } from "kysely";

/**
 * The hashes of the log's complete tiles of 256 leaves (src/audit/log-tree.ts), stored with each
 * checkpoint: a start reads one row per 256 records, and checks them and the leaves after them
 * against the latest checkpoint's signed root, instead of reading every leaf hash of the log.
 * Append-only like the log: a tile's hash never changes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table audit_tiles (
      shard integer not null check (shard >= 0),
      tile bigint not null check (tile >= 0),
      hash bytea not null check (length(hash) = 32),
      primary key (shard, tile)
    )`.execute(db);
  await sql`
    create function audit_tiles_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_tiles is append-only';
    end $$`.execute(db);
  await sql`
    create trigger audit_tiles_no_update before update or delete on audit_tiles
    for each row execute function audit_tiles_append_only()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists audit_tiles`.execute(db);
  await sql`drop function if exists audit_tiles_append_only()`.execute(db);
}
