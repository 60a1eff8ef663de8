/**
 * Decision and outcome records, formats v1 and v2 (DESIGN §8, docs/audit.md §1).
 *
 * A record is a JSON object serialised as RFC 8785 canonical JSON in which every number is a
 * safe integer: times and durations in µs, money in micro-USD, ratios in parts per billion.
 * It never holds prompt or completion text, nor an unkeyed hash of it (a hash of a short or
 * guessable prompt reveals it).
 *
 * These types describe the shape the router writes (src/routing/decision-record.ts builds it
 * from a routing decision). {@link validateRecord} checks a record strictly — unknown fields
 * are refused, so nothing lands in a record by accident — and {@link encodeRecord} gives the
 * bytes that are signed and logged. A verifier uses {@link decodeRecord}, which checks what
 * must hold for any record (bytes, canonical form, integers, version, kind, id, time and, in
 * v2, the tenant sequence number) and no more, so that fields added later still verify.
 *
 * v2 = v1 + `v: 2` + `tenant_seq`: the record's number in its tenant's dense sequence (1, 2, …
 * over the tenant's decision and outcome records, assigned by the log as it signs, see
 * audit-log.ts), so that a tenant-scoped export shows none of the tenant's records is missing.
 * A v2 outcome record also names its `tenant`. The router writes v2; v1 records in existing
 * logs keep verifying and replaying.
 */
import { assertIntegersOnly, canonicalize, isUuidv7, uuidv7 } from "../encoding/index.js";
import { RECORD_SCHEMAS } from "./record-schema.js";

/** The record format the router writes. */
export const RECORD_FORMAT_VERSION = 2;
/** Formats a verifier accepts. */
export type RecordVersion = 1 | 2;

/** A JSON value as records allow it: numbers must be safe integers (checked when encoding). */
export type RecordJson = string | number | boolean | null | RecordJson[] | { [key: string]: RecordJson };

export interface Principal {
  tenant: string;
  workload: string;
  roles: string[];
}

/** What was asked for: names, preferences and counts, never content. */
export interface RequestSummary {
  model: string;
  /** Fallback models, in order (OpenRouter `models`). */
  models: string[];
  /**
   * The `provider` preferences with OpenRouter names, made integer: `max_price_micro_usd`
   * (micro-USD per million tokens), `preferred_max_latency_ms`, `preferred_min_throughput_milli`.
   */
  provider: Record<string, unknown>;
  /** Residency requirement, e.g. "eu"; null when none. */
  region: string | null;
  /** Caller-supplied routing labels, as given to the policy. */
  labels: Record<string, string>;
  message_count: number;
  estimated_prompt_tokens: number;
  max_tokens: number | null;
  /** Names (never values) of the sampling/tool parameters the request uses. */
  parameters: string[];
}

/** The policy bundle a decision was evaluated with. */
export interface PolicyRef {
  /** `.manifest` revision. */
  revision: string;
  /** sha256 (hex) of the bundle bytes, as stored for replay. */
  sha256: string;
  /** Evaluation time, µs. */
  eval_us: number;
  /** Set when evaluation failed (the request was then refused). */
  error?: string;
}

/** Why a candidate was excluded, at which stage and by which rule. */
export interface ExclusionRecord {
  /** "policy" | "filter" | "availability". */
  stage: string;
  /** The policy rule or request filter, e.g. "zdr", "only", "max_price". */
  rule: string;
  reason: string;
}

/** One candidate endpoint and what became of it. */
export interface CandidateRecord {
  endpoint_id: string;
  model: string;
  /** Not excluded at any stage. */
  eligible: boolean;
  exclusions: ExclusionRecord[];
  /** Selection weight, parts per billion of the largest eligible weight (0 when not eligible). */
  weight_ppb: number;
  /** Moved behind healthy endpoints because of a recent outage. */
  unhealthy: boolean;
  /** Rolling time to first token at decision time, µs. */
  ttft_us: number | null;
  /** Rolling throughput at decision time, thousandths of a token per second. */
  tokens_per_second_milli: number | null;
}

export interface DecisionRecord {
  /** 2 from the router; 1 in logs written before tenant sequence numbers. */
  v: RecordVersion;
  kind: "decision";
  /** UUIDv7. */
  decision_id: string;
  /** When the decision was made, µs since the Unix epoch. */
  time_us: number;
  /** Router instance that decided. */
  router: string;
  principal: Principal;
  request: RequestSummary;
  policy: PolicyRef;
  catalog_revision: string;
  /** Every candidate, in candidate order (requested model first, then each fallback model). */
  candidates: CandidateRecord[];
  /** The selection seed, decimal uint64 (a string so that it survives JSON). */
  seed: string;
  /** Endpoint ids in attempt order; empty when nothing is allowed. */
  plan: string[];
  /**
   * v2: the record's number in its tenant's dense sequence, from 1. Absent in v1 records and in
   * a v2 record not yet signed (the log assigns it as it signs: {@link withTenantSeq}).
   */
  tenant_seq?: number;
}

export interface AttemptRecord {
  endpoint_id: string;
  /** µs since the Unix epoch. */
  started_us: number;
  duration_us: number;
  /** Upstream HTTP status, null when none was received. */
  status: number | null;
  /** Upstream error class (connect, timeout_*, rate_limited, server, client, …); null on success. */
  error_class: string | null;
}

export type Outcome = "success" | "failed" | "denied";

export interface OutcomeRecord {
  v: RecordVersion;
  kind: "outcome";
  /** The decision this outcome belongs to. */
  decision_id: string;
  /** When the request finished, µs since the Unix epoch. */
  time_us: number;
  outcome: Outcome;
  attempts: AttemptRecord[];
  endpoint_used: string | null;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
  cost_micro_usd: number;
  /** Whole request, µs. */
  latency_us: number;
  /** Time to first token, µs; null when none arrived. */
  ttft_us: number | null;
  error_class: string | null;
  /** v2: the decision's tenant (`principal.tenant`), so the record counts in its sequence. */
  tenant?: string;
  /** v2: as in {@link DecisionRecord}. */
  tenant_seq?: number;
}

export type AuditRecord = DecisionRecord | OutcomeRecord;

export class RecordFormatError extends Error {
  override readonly name = "RecordFormatError";
}

function issuePath(path: readonly PropertyKey[]): string {
  return ["$", ...path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))].join("");
}

/**
 * Checks a record strictly against its format, v1 or v2 (throws {@link RecordFormatError}
 * naming the field).
 */
export function validateRecord(value: unknown): AuditRecord {
  const v = (value as { v?: unknown } | null)?.v;
  const schema = v === 1 || v === 2 ? RECORD_SCHEMAS[v] : undefined;
  if (!schema) throw new RecordFormatError(`$.v: unsupported record version ${String(v)}`);
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new RecordFormatError(`${issuePath(issue.path)}: ${issue.message}`);
  }
  return value as AuditRecord;
}

/** The record as v2 with its tenant sequence number — what the log signs. */
export function withTenantSeq<R extends AuditRecord>(record: R, tenantSeq: number): R {
  return { ...record, v: 2, tenant_seq: tenantSeq };
}

/** The tenant a record belongs to: a decision's principal, a v2 outcome's `tenant`. */
export function recordTenant(record: { readonly [field: string]: unknown }): string | undefined {
  if (record.kind === "decision") {
    const t = (record.principal as { tenant?: unknown } | undefined)?.tenant;
    return typeof t === "string" ? t : undefined;
  }
  return typeof record.tenant === "string" ? record.tenant : undefined;
}

// ---- Builders and helpers ----

/** Current time in µs since the Unix epoch. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** USD (e.g. per million tokens) → integer micro-USD. */
export function usdToMicro(usd: number): number {
  if (!Number.isFinite(usd)) throw new RangeError(`not an amount: ${usd}`);
  return Math.round(usd * 1_000_000);
}

/**
 * What a caller supplies for a decision record; id and time default to a new UUIDv7 and now.
 * With `tenant_seq` the record is v2, without it v1.
 */
export type DecisionInput = Omit<DecisionRecord, "v" | "kind" | "decision_id" | "time_us"> & {
  decision_id?: string;
  time_us?: number;
};

/** Builds and strictly validates a decision record. */
export function buildDecisionRecord(input: DecisionInput): DecisionRecord {
  const time_us = input.time_us ?? nowUs();
  const record = {
    v: input.tenant_seq === undefined ? 1 : 2,
    kind: "decision",
    ...input,
    decision_id: input.decision_id ?? uuidv7(Math.floor(time_us / 1000)),
    time_us,
  };
  return validateRecord(record) as DecisionRecord;
}

/**
 * What a caller supplies for an outcome record; time defaults to now. With `tenant_seq` (and
 * `tenant`) the record is v2, without them v1.
 */
export type OutcomeInput = Omit<OutcomeRecord, "v" | "kind" | "time_us"> & { time_us?: number };

/** Builds and strictly validates an outcome record. */
export function buildOutcomeRecord(input: OutcomeInput): OutcomeRecord {
  return validateRecord({
    v: input.tenant_seq === undefined ? 1 : 2,
    kind: "outcome",
    ...input,
    time_us: input.time_us ?? nowUs(),
  }) as OutcomeRecord;
}

// ---- Bytes ----

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The bytes that are signed and logged: UTF-8 of RFC 8785 JSON, after checking integers only. */
export function encodeRecord(record: AuditRecord): Uint8Array {
  try {
    assertIntegersOnly(record);
  } catch (err) {
    throw new RecordFormatError((err as Error).message, { cause: err });
  }
  return encoder.encode(canonicalize(record));
}

/** The fields every record has, whatever its kind; `tenant_seq` in v2. */
export interface RecordHeader {
  v: RecordVersion;
  kind: "decision" | "outcome";
  decision_id: string;
  time_us: number;
  tenant_seq?: number;
  [field: string]: unknown;
}

/**
 * Parses record bytes as a verifier must: valid UTF-8, one JSON object, integers only, exactly
 * canonical (re-encoding gives the same bytes: no whitespace, sorted keys, no duplicate keys,
 * shortest numbers), v = 1 or 2, a known kind, a UUIDv7 decision id and a time; in v2 a
 * `tenant_seq` ≥ 1 and the tenant it counts for (a decision's `principal.tenant`, an outcome's
 * `tenant`).
 */
export function decodeRecord(bytes: Uint8Array): RecordHeader {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new RecordFormatError("not UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RecordFormatError("not JSON");
  }
  try {
    assertIntegersOnly(value);
  } catch (err) {
    throw new RecordFormatError(`not integers only: ${(err as Error).message}`);
  }
  if (canonicalize(value) !== text) throw new RecordFormatError("not in canonical form (RFC 8785)");
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new RecordFormatError("not a JSON object");
  }
  const r = value as Record<string, unknown>;
  if (r.v !== 1 && r.v !== 2) throw new RecordFormatError(`$.v: unsupported record version ${String(r.v)}`);
  if (r.kind !== "decision" && r.kind !== "outcome") throw new RecordFormatError(`$.kind: unknown kind`);
  if (typeof r.decision_id !== "string" || !isUuidv7(r.decision_id)) {
    throw new RecordFormatError("$.decision_id: not a UUIDv7");
  }
  if (typeof r.time_us !== "number" || r.time_us < 0) throw new RecordFormatError("$.time_us: missing");
  if (r.v === 2) {
    if (typeof r.tenant_seq !== "number" || r.tenant_seq < 1)
      throw new RecordFormatError("$.tenant_seq: missing or below 1 in a v2 record");
    if (recordTenant(r) === undefined)
      throw new RecordFormatError(
        r.kind === "decision" ? "$.principal.tenant: missing" : "$.tenant: missing in a v2 outcome record",
      );
  } else if (r.tenant_seq !== undefined) {
    throw new RecordFormatError("$.tenant_seq: only v2 records have one");
  }
  return r as RecordHeader;
}
