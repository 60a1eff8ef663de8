/**
 * Budget reservations and settlements, committed with the audit log's records (docs/budgets.md).
 *
 * The log hands each batch's works to {@link BudgetLedger.run} inside the batch's transaction:
 * on Postgres under the sequencer's advisory lock, so every replica's batches take turns and
 * the usage read here is the committed truth; on PGlite over its one connection, held for the
 * batch. Reservations are therefore checked one after the other, in log order, against usage
 * that no other writer can move meanwhile: no double spend, whatever the replica count. A
 * refused reservation writes nothing and comes back as a {@link BudgetRefusal}; the log then
 * writes its decision as a denial. A failed batch rolls its reservations back with it.
 */
import { type Kysely, sql, type Transaction } from "kysely";
import type { CoCommitHook } from "../audit/index.js";
import type { Database } from "../db/index.js";
import type { BudgetRefusal, BudgetWork, HoldWork, SettleWork } from "./types.js";
import { windowStart } from "./windows.js";

type Db = Kysely<Database> | Transaction<Database>;

interface Limits {
  tenant: string;
  key_id: string;
  period: "day" | "month";
  usd_micros: number | null;
  tokens: number | null;
}

interface Line {
  decisionId: string;
  tenant: string;
  keyId: string;
  period: "day" | "month";
  windowStart: Date;
  usdMicros: number;
  tokens: number;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const usageKey = (tenant: string, keyId: string, period: string, start: Date) =>
  `${tenant}\u0000${keyId}\u0000${period}\u0000${start.getTime()}`;

export class BudgetLedger implements CoCommitHook {
  async run(db: Db, works: readonly unknown[]): Promise<readonly unknown[]> {
    const all = works as readonly BudgetWork[];
    // Settlements first: they free what their reservations held beyond the actual usage.
    const settles = all.filter((w): w is SettleWork => w.kind === "settle");
    if (settles.length > 0) await settle(db, settles);
    const holds = all.filter((w): w is HoldWork => w.kind === "hold");
    const refusals = holds.length > 0 ? await reserve(db, holds) : new Map<HoldWork, BudgetRefusal>();
    return all.map((w) => (w.kind === "hold" ? refusals.get(w) : undefined));
  }
}

/**
 * Takes the reservations that fit, in order; returns the refused ones. One read (the tenants'
 * budgets with their windows' usage) and at most one write.
 */
async function reserve(db: Db, holds: readonly HoldWork[]): Promise<Map<HoldWork, BudgetRefusal>> {
  const refusals = new Map<HoldWork, BudgetRefusal>();
  const tenants = [...new Set(holds.map((h) => h.tenant))];
  const starts = new Set<number>();
  for (const h of holds)
    for (const p of ["day", "month"] as const) starts.add(windowStart(p, h.timeMs).getTime());
  // One read: the tenants' budgets, each with its usage in the windows the holds fall in.
  const rows = (
    await sql<Limits & { window_start: Date | null; used_usd: unknown; used_tokens: unknown }>`
      select b.tenant, b.key_id, b.period, b.usd_micros, b.tokens,
             u.window_start, u.usd_micros as used_usd, u.tokens as used_tokens
      from budgets b left join budget_usage u
        on u.tenant = b.tenant and u.key_id = b.key_id and u.period = b.period
       and u.window_start = any(${[...starts].map((t) => new Date(t).toISOString())}::timestamptz[])
      where b.tenant = any(${tenants}::text[])`.execute(db)
  ).rows;
  if (rows.length === 0) return refusals;
  const budgets = new Map<string, Limits>();
  const used = new Map<string, { usd: number; tokens: number }>();
  for (const r of rows) {
    budgets.set(`${r.tenant}\u0000${r.key_id}\u0000${r.period}`, {
      tenant: r.tenant,
      key_id: r.key_id,
      period: r.period,
      usd_micros: num(r.usd_micros),
      tokens: num(r.tokens),
    });
    if (r.window_start !== null)
      used.set(usageKey(r.tenant, r.key_id, r.period, new Date(r.window_start)), {
        usd: Number(r.used_usd),
        tokens: Number(r.used_tokens),
      });
  }
  // A key's budgets before its tenant's, the day before the month: the narrowest is named.
  const ordered = [...budgets.values()].sort((a, b) =>
    a.key_id === b.key_id ? a.period.localeCompare(b.period) : a.key_id === "" ? 1 : -1,
  );

  const lines: Line[] = [];
  const touched = new Set<string>();
  for (const h of holds) {
    const mine = ordered.filter((b) => b.tenant === h.tenant && (b.key_id === "" || b.key_id === h.keyId));
    const charged = mine.map((b) => {
      const start = windowStart(b.period, h.timeMs);
      const key = usageKey(b.tenant, b.key_id, b.period, start);
      return { b, start, key, u: used.get(key) ?? { usd: 0, tokens: 0 } };
    });
    const over = charged.find(
      ({ b, u }) =>
        (b.usd_micros !== null && u.usd + h.usdMicros > b.usd_micros) ||
        (b.tokens !== null && u.tokens + h.tokens > b.tokens),
    );
    if (over) {
      const { b, u } = over;
      const byUsd = b.usd_micros !== null && u.usd + h.usdMicros > b.usd_micros;
      refusals.set(h, {
        scope: { tenant: b.tenant, keyId: b.key_id, period: b.period },
        limit: byUsd ? { usdMicros: b.usd_micros! } : { tokens: b.tokens! },
      });
      continue;
    }
    for (const { b, start, key, u } of charged) {
      used.set(key, { usd: u.usd + h.usdMicros, tokens: u.tokens + h.tokens });
      touched.add(key);
      lines.push({
        decisionId: h.decisionId,
        tenant: b.tenant,
        keyId: b.key_id,
        period: b.period,
        windowStart: start,
        usdMicros: h.usdMicros,
        tokens: h.tokens,
      });
    }
  }
  if (lines.length > 0)
    await writeHolds(
      db,
      lines,
      [...touched].map((k) => [k, used.get(k)!] as const),
    );
  return refusals;
}

/** The holds and the windows' new totals (computed above, under the lock), in one statement. */
async function writeHolds(
  db: Db,
  lines: readonly Line[],
  totals: readonly (readonly [string, { usd: number; tokens: number }])[],
): Promise<void> {
  const parts = totals.map(([k]) => k.split("\u0000"));
  await sql`with holds as (
      insert into budget_holds (decision_id, tenant, key_id, period, window_start, usd_micros, tokens, settled)
      select d, t, k, p, w, u, n, false from unnest(
        ${lines.map((l) => l.decisionId)}::text[], ${lines.map((l) => l.tenant)}::text[],
        ${lines.map((l) => l.keyId)}::text[], ${lines.map((l) => l.period)}::text[],
        ${lines.map((l) => l.windowStart.toISOString())}::timestamptz[],
        ${lines.map((l) => l.usdMicros)}::int8[], ${lines.map((l) => l.tokens)}::int8[]
      ) as x(d, t, k, p, w, u, n)
    )
    insert into budget_usage (tenant, key_id, period, window_start, usd_micros, tokens)
    select t, k, p, w, u, n from unnest(
      ${parts.map((p) => p[0]!)}::text[], ${parts.map((p) => p[1]!)}::text[], ${parts.map((p) => p[2]!)}::text[],
      ${parts.map((p) => new Date(Number(p[3])).toISOString())}::timestamptz[],
      ${totals.map(([, v]) => v.usd)}::int8[], ${totals.map(([, v]) => v.tokens)}::int8[]
    ) as x(t, k, p, w, u, n)
    on conflict (tenant, key_id, period, window_start)
    do update set usd_micros = excluded.usd_micros, tokens = excluded.tokens`.execute(db);
}

/**
 * Replaces each decision's reservations with its actual usage: every window it charged moves by
 * (actual − reserved), and its holds are marked settled (a second settlement finds none open).
 */
async function settle(db: Db, settles: readonly SettleWork[]): Promise<void> {
  await sql`with s as (
      select * from unnest(${settles.map((w) => w.decisionId)}::text[], ${settles.map((w) => w.usdMicros)}::int8[],
                           ${settles.map((w) => w.tokens)}::int8[]) as s(decision_id, actual_usd, actual_tokens)
    ), open as (
      select h.decision_id, h.tenant, h.key_id, h.period, h.window_start,
             s.actual_usd - h.usd_micros as d_usd, s.actual_tokens - h.tokens as d_tokens,
             s.actual_usd, s.actual_tokens
      from budget_holds h join s on s.decision_id = h.decision_id
      where not h.settled
    ), closed as (
      update budget_holds h set usd_micros = o.actual_usd, tokens = o.actual_tokens, settled = true
      from open o
      where h.decision_id = o.decision_id and h.key_id = o.key_id and h.period = o.period
    ), moves as (
      select tenant, key_id, period, window_start, sum(d_usd) as d_usd, sum(d_tokens) as d_tokens
      from open group by tenant, key_id, period, window_start
    )
    update budget_usage u set usd_micros = u.usd_micros + m.d_usd, tokens = u.tokens + m.d_tokens
    from moves m
    where u.tenant = m.tenant and u.key_id = m.key_id and u.period = m.period and u.window_start = m.window_start`.execute(
    db,
  );
}
