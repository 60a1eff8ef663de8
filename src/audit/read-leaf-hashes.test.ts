/**
 * `readLeafHashes` reads dense pages as one concatenated value; whatever is not dense (a gap, a
 * log shorter than asked) must still come back row by row, as stored.
 */
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../test/support/databases.js";
import { AuditLog } from "./audit-log.js";
import { readLeafHashes } from "./audit-store.js";
import { sampleDecisionAppend } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";

describe.each(testDatabases)("readLeafHashes (%s)", (database) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it("returns the stored rows in order: dense pages, a gap, the end of the log", async () => {
    const h = await database.open();
    cleanup.push(() => h.close());
    const audit = new AuditLog(h.db, h.kind, generateSigningKey(), { batchDelayMs: 0, batchMax: 64 });
    await Promise.all(Array.from({ length: 40 }, () => audit.append(sampleDecisionAppend("acme"))));
    await audit.drain();
    const stored = await h.db.selectFrom("audit_log").select(["seq", "leaf_hash"]).orderBy("seq").execute();
    const expected = (rows: typeof stored) =>
      rows.map((r) => [Number(r.seq), Buffer.from(r.leaf_hash).toString("hex")]);
    const read = async (from: number, to: number, page: number) => {
      const out: [number, string][] = [];
      for await (const { seq, leafHash } of readLeafHashes(h.db, from, to, page))
        out.push([seq, Buffer.from(leafHash).toString("hex")]);
      return out;
    };

    expect(await read(0, 40, 7)).toEqual(expected(stored));
    expect(await read(5, 23, 4)).toEqual(expected(stored.slice(5, 23)));
    // Past the end of the log: the rows there are, and no more.
    expect(await read(30, 1_000, 4)).toEqual(expected(stored.slice(30)));

    await sql`alter table audit_log disable trigger audit_log_no_update`.execute(h.db);
    await h.db.deleteFrom("audit_log").where("seq", "=", 17).execute();
    await sql`alter table audit_log enable trigger audit_log_no_update`.execute(h.db);
    const gapped = stored.filter((r) => Number(r.seq) !== 17);
    expect(await read(0, 40, 7)).toEqual(expected(gapped));
    expect(await read(0, 40, 100)).toEqual(expected(gapped));
    expect(await read(18, 40, 5)).toEqual(expected(gapped.slice(17)));
  });
});
