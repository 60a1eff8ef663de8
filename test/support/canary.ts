/**
 * The privacy canary (docs/security.md): a unique string sent through a path, then looked for
 * everywhere the server keeps or says anything — every table (as text, bytea and base64 forms
 * included, record payloads decoded), its logs, the metrics, the errors callers received and an
 * audit export. A clean result means something only because {@link leaks} finds every form.
 */
import { randomUUID } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { sql } from "kysely";
import { expect } from "vitest";
import type { TestApp } from "./app.js";
import { exportLog } from "./audit-live.js";

export function newCanary(): string {
  return `CANARY-${randomUUID()}`;
}

/** The canary and the encodings it could hide in: plain, hex (bytea::text), base64 at each alignment. */
export function encodings(canary: string): string[] {
  const bytes = Buffer.from(canary, "utf8");
  const out = [canary, bytes.toString("hex")];
  for (let shift = 0; shift < 3; shift++) {
    // Base64 of the canary preceded by `shift` bytes: drop the characters the prefix affects.
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString("base64");
    const skip = Math.ceil((shift * 4) / 3) + 1;
    out.push(b64.slice(skip, b64.length - 4));
  }
  return out;
}

export function leaks(haystack: string, canary: string): string[] {
  return encodings(canary).filter((e) => haystack.includes(e));
}

/** Every row of every table as text, and every log record's payload decoded: no canary. */
export async function expectNoCanaryInTables(t: TestApp, canary: string): Promise<void> {
  // Every acknowledged record, the embedded database's journal backlog included.
  await t.app.audit.settled();
  const db = t.app.db.db;
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db);
  let scanned = 0;
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(
      db,
    );
    for (const { row } of rows.rows) {
      expect(leaks(row, canary), `${table_name}: ${row.slice(0, 200)}`).toEqual([]);
      scanned++;
    }
  }
  expect(scanned).toBeGreaterThan(10);
  for (const { envelope } of await db.selectFrom("audit_log").select("envelope").execute()) {
    const payload = Buffer.from(JSON.parse(envelope).payload, "base64").toString("utf8");
    expect(leaks(payload, canary)).toEqual([]);
  }
}

/**
 * The server's logs, its metrics, the errors callers saw and an audit export (at least
 * `minExportBytes` of records, so there was something to read): no canary.
 */
export async function expectNoCanaryOutside(
  t: TestApp,
  canary: string,
  errors: readonly string[],
  minExportBytes = 500,
): Promise<void> {
  expect(leaks(t.logs.join("\n"), canary)).toEqual([]);
  const metrics = await (await fetch(`${t.app.httpUrl}/metrics`)).text();
  expect(metrics).toContain("sovr_");
  expect(leaks(metrics, canary)).toEqual([]);
  expect(leaks(errors.join("\n"), canary)).toEqual([]);
  const dir = await exportLog(t);
  try {
    const records = await readFile(join(dir, "records.jsonl"), "utf8");
    expect(records.length).toBeGreaterThan(minExportBytes);
    expect(leaks(records, canary)).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
