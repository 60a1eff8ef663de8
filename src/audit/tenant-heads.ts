/**
 * Per-tenant sequence numbers (`tenant_seq`, record format v2) as one log writer sees them.
 *
 * Why numbers are handed out in the process and checked in the commit: `tenant_seq` is inside
 * the signed payload, so a record can only be signed once its number is known. Taking the
 * number inside the commit (under the sequencer lock) would put every signature on the
 * critical path of the commit, while the usual case — one writer per database, or per tenant —
 * knows the heads already. So each writer keeps the heads it committed, numbers a record when
 * it is appended (and signs it then, overlapping the commit in flight, as before v2; an outcome
 * record on the next turn of the event loop, audit-log.ts), and the
 * commit checks, in the same statement and under the same lock that assigns `seq`, that the
 * database's heads (`audit_tenant_heads`) are the ones the batch continues. If not (another
 * replica wrote for the tenant, or this process restarted), the statement writes nothing and
 * returns the database's heads; the batch is renumbered, re-signed and sent again. On Postgres
 * the one-statement commit has released the lock by then, so the retry runs in a transaction
 * that holds it: once renumbered from heads read under that lock it cannot miss (audit-log.ts
 * `#write`). Heads advance in the statement that
 * writes the rows, so a failed commit consumes no number: after every commit the queue is
 * renumbered from the committed heads, and a record whose number changed is re-signed.
 */

/** A record's claim on a place in its tenant's sequence. */
export interface TenantSlot {
  tenant: string;
  tenantSeq: number;
}

/** What a batch claims, one entry per tenant: the head it continues and the head it leaves. */
export interface BatchClaims {
  tenant: string[];
  prev: number[];
  last: number[];
}

export class TenantHeads {
  /** The last `tenant_seq` known committed, per tenant (0 / absent: none known). */
  readonly #committed = new Map<string, number>();
  /** The last `tenant_seq` handed out, per tenant: committed, in flight or queued. */
  readonly #taken = new Map<string, number>();

  /** The next number of `tenant`, handed out now. */
  take(tenant: string): number {
    const n = (this.#taken.get(tenant) ?? this.#committed.get(tenant) ?? 0) + 1;
    this.#taken.set(tenant, n);
    return n;
  }

  /** Records committed heads: after a commit, or as the database reported them. */
  setCommitted(tenant: string, head: number): void {
    this.#committed.set(tenant, head);
  }

  /**
   * Numbers `slots` in order from the committed heads, as the only records not yet committed
   * (what is in flight has settled), and calls `changed` for each whose number moved.
   */
  renumber<T extends TenantSlot>(slots: Iterable<T>, changed: (slot: T) => void): void {
    this.#taken.clear();
    for (const s of slots) {
      const n = this.take(s.tenant);
      if (n !== s.tenantSeq) {
        s.tenantSeq = n;
        changed(s);
      }
    }
  }
}

/**
 * Numbers `slots` in order continuing `heads` (tenant → last committed), for a batch that must
 * be re-signed; calls `changed` for each whose number moved.
 */
export function renumberFrom<T extends TenantSlot>(
  slots: Iterable<T>,
  heads: ReadonlyMap<string, number>,
  changed: (slot: T) => void,
): void {
  const last = new Map(heads);
  for (const s of slots) {
    const n = (last.get(s.tenant) ?? 0) + 1;
    last.set(s.tenant, n);
    if (n !== s.tenantSeq) {
      s.tenantSeq = n;
      changed(s);
    }
  }
}

/**
 * The per-tenant claims of a batch whose slots are in log order. Throws when a tenant's
 * numbers in the batch are not consecutive: writing them would leave a gap in the sequence.
 */
export function batchClaims(slots: Iterable<TenantSlot>): BatchClaims {
  const byTenant = new Map<string, { prev: number; last: number }>();
  for (const s of slots) {
    const c = byTenant.get(s.tenant);
    if (!c) byTenant.set(s.tenant, { prev: s.tenantSeq - 1, last: s.tenantSeq });
    else if (s.tenantSeq !== c.last + 1) {
      throw new Error(`tenant_seq of tenant ${s.tenant}: ${s.tenantSeq} does not follow ${c.last}`);
    } else c.last = s.tenantSeq;
  }
  const claims: BatchClaims = { tenant: [], prev: [], last: [] };
  for (const [tenant, c] of byTenant) {
    claims.tenant.push(tenant);
    claims.prev.push(c.prev);
    claims.last.push(c.last);
  }
  return claims;
}
