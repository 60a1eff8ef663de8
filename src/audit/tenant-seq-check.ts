/**
 * The verifier's check of record format v2's per-tenant sequence: in log order, each tenant's
 * v2 records carry tenant_seq 1, 2, 3, … with nothing missing, repeated or reordered. (The log
 * numbers a tenant's records in the order it appends them, so log order is tenant_seq order.)
 * v1 records carry no number and are only counted.
 */
export interface TenantSeqProblem {
  /** The first missing tenant_seq, when one is missing. */
  missing?: number;
  what: string;
}

export class TenantSeqCheck {
  readonly #last = new Map<string, { first: number; last: number }>();
  #unsequenced = 0;

  /**
   * @param fromStart the records start at the beginning of the log (a tenant's first v2 record
   *   must then be tenant_seq 1); otherwise each tenant's sequence starts where it starts.
   */
  constructor(private readonly fromStart: boolean) {}

  /** Checks the next record of `tenant`; `tenantSeq` undefined for a v1 record. */
  next(tenant: string, tenantSeq: number | undefined): TenantSeqProblem | undefined {
    if (tenantSeq === undefined) {
      this.#unsequenced++;
      return undefined;
    }
    const seen = this.#last.get(tenant);
    const expected = seen ? seen.last + 1 : this.fromStart ? 1 : tenantSeq;
    if (tenantSeq > expected) {
      return {
        missing: expected,
        what: `tenant_seq ${expected} of tenant ${tenant} is missing (the next record of the tenant has tenant_seq ${tenantSeq})`,
      };
    }
    if (tenantSeq < expected) {
      return {
        what: `tenant_seq ${tenantSeq} of tenant ${tenant} repeats or is out of order (expected ${expected})`,
      };
    }
    this.#last.set(tenant, { first: seen?.first ?? tenantSeq, last: tenantSeq });
    return undefined;
  }

  /** Per tenant, the first and last tenant_seq seen. */
  ranges(): Map<string, { first: number; last: number }> {
    return new Map(this.#last);
  }

  /** v1 records seen (no tenant_seq: their completeness cannot be shown). */
  get unsequenced(): number {
    return this.#unsequenced;
  }
}
