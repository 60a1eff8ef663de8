/**
 * Audit records, formats v1 and v2 (DESIGN §8, docs/audit.md §1): decision, outcome and (v2)
 * admin records.
 *
 * A record is a JSON object serialised as RFC 8785 canonical JSON in which every number is a
 * safe integer: times and durations in µs, money in micro-USD, ratios in parts per billion.
 * It never holds prompt or completion text, nor an unkeyed hash of it (a hash of a short or
 * guessable prompt reveals it), nor a secret.
 *
 * These types describe the shapes (src/routing/decision-record.ts builds a decision from a
 * routing decision). {@link validateRecord} checks a record strictly — unknown fields are
 * refused, so nothing lands in a record by accident — and {@link encodeRecord} gives the bytes
 * that are signed and logged. A verifier uses {@link decodeRecord}, which checks what must hold
 * for any record (bytes, canonical form, integers, version, kind, id, time and, in v2, the
 * tenant sequence number) and no more, so that fields added later still verify.
 *
 * v2 is what the router writes, and is the complete shape later features fill in
 * (record-schema.ts): `tenant_seq` on every record — its number in its tenant's dense sequence,
 * assigned by the log as it signs (audit-log.ts), so that a tenant-scoped export shows none of
 * the tenant's records is missing; on a decision the caller, shard, modalities, content labels
 * and obligations, and candidates as columns referring to one list of checks and, for their
 * attributes, to the catalog revision; an outcome names its `tenant`; admin records say who
 * changed what. v1 records in existing logs keep verifying and replaying
 * ({@link candidateRows} reads the candidates of either format).
 */
import {
  assertIntegersOnly,
  canonicalize,
  canonicalizeRecord,
  isUuidv7,
  NotSafeIntegerError,
  uuidv7,
} from "../encoding/index.js";
import type { AdminRecord } from "./record-admin-types.js";
import type { AppliedCheckRecord } from "./record-applied.js";
import { RECORD_SCHEMAS } from "./record-schema.js";

export type { AdminAction } from "./record-schema.js";

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

/** One candidate endpoint and what became of it (v1: one object per candidate). */
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

/** A decision record of format v1, as older logs hold it. */
export interface DecisionRecordV1 {
  v: 1;
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
}

/** Who made a call (v2). */
export interface CallerRecord {
  /**
   * jwt: a token from a configured OIDC issuer; mtls: a client certificate matched by a rule.
   * "workload" was reserved before those two and is never written.
   */
  kind: "api_key" | "jwt" | "mtls" | "workload" | "anonymous";
  /**
   * The API key's workload name; the token's subject; the certificate's matched SAN URI or CN;
   * "" when anonymous.
   */
  subject: string;
  /** The API key id; "" when the caller used none. */
  key_id: string;
  /** jwt, mtls: the selected claims (`iss` and the issuer's `expose_claims`; `cert_sha256`). */
  claims?: Record<string, string>;
}

export type Modality = "text" | "image" | "audio" | "file";

/** A check that excluded at least one candidate (v2): each distinct one listed once. */
export interface CheckRecord {
  stage: "policy" | "filter" | "availability";
  rule: string;
  reason: string;
  /** The index in `applied` of the check this is a failure of (record-applied.ts); absent before it. */
  applied?: number;
}

/**
 * The candidates of a v2 decision, as columns: index i of every column is candidate i, in
 * candidate order. Model and data-policy attributes are not copied: they are those of
 * `endpoint_id` in the catalog revision the record names.
 */
export interface CandidateColumns {
  endpoint_id: string[];
  /** Per candidate, the indices into `checks` of the checks it failed; [] = eligible. */
  exclusions: number[][];
  weight_ppb: number[];
  /** Indices (increasing) of the candidates moved behind healthy ones after a recent outage. */
  unhealthy: number[];
  /**
   * Rolling performance at decision time of the candidates that had any (the router records it
   * for eligible ones), by increasing index: [index, ttft_us | null, tokens_per_second_milli | null].
   */
  performance: [number, number | null, number | null][];
}

/** A decision record of format v2 — what the router writes (docs/audit.md §1). */
export interface DecisionRecordV2 {
  v: 2;
  kind: "decision";
  decision_id: string;
  time_us: number;
  /** The record's number in its tenant's dense sequence, from 1; the log assigns it as it signs. */
  tenant_seq: number;
  router: string;
  /** The router's shard (instance group); "" when not sharded. */
  shard: string;
  principal: Principal;
  caller: CallerRecord;
  request: RequestSummary & {
    modalities: Modality[];
    /** "embedding" for /v1/embeddings and Embed; absent for chat completions. */
    operation?: "embedding";
  };
  policy: PolicyRef;
  /** sha256 of the catalog's canonical form: the candidates' models and attributes live there. */
  catalog_revision: string;
  checks: CheckRecord[];
  /**
   * The checks applied to every candidate, passed or failed (record-applied.ts); absent in
   * records written before them (then only the failures are stated).
   */
  applied?: AppliedCheckRecord[];
  candidates: CandidateColumns;
  /** Content labels from detectors (label → value); empty until detectors exist. */
  labels: Record<string, string>;
  /** Obligations attached to the decision; empty until policies emit them. */
  obligations: string[];
  seed: string;
  plan: string[];
}

export type DecisionRecord = DecisionRecordV1 | DecisionRecordV2;

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

/**
 * Token counts as the upstream reported them; the details (v2) only where it reported them,
 * each a part of prompt_tokens or completion_tokens.
 */
export interface UsageRecord {
  prompt_tokens: number;
  completion_tokens: number;
  cached_prompt_tokens?: number;
  cache_write_prompt_tokens?: number;
  reasoning_tokens?: number;
  audio_prompt_tokens?: number;
  audio_completion_tokens?: number;
}

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
  usage: UsageRecord | null;
  cost_micro_usd: number;
  /** Whole request, µs. */
  latency_us: number;
  /** Time to first token, µs; null when none arrived. */
  ttft_us: number | null;
  error_class: string | null;
  /**
   * v2, when there were any: advisory parameters of the request the endpoint used does not
   * take, which were not sent (routing/parameters.ts).
   */
  unapplied_parameters?: string[];
  /** v2: the decision's tenant (`principal.tenant`), so the record counts in its sequence. */
  tenant?: string;
  /** v2: as in {@link DecisionRecord}. */
  tenant_seq?: number;
}

export {
  type AdminCallerRecord,
  type AdminRecord,
  type AdminTarget,
  PLATFORM_TENANT,
} from "./record-admin-types.js";

export type AuditRecord = DecisionRecord | OutcomeRecord | AdminRecord;

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

/** A v2 record before the log numbers it (the log assigns `tenant_seq` as it signs). */
export type Unsequenced<R> = Omit<R, "tenant_seq"> & { tenant_seq?: number };

/** The record as v2 with its tenant sequence number — what the log signs. */
export function withTenantSeq<R extends object>(
  record: R,
  tenantSeq: number,
): Omit<R, "v" | "tenant_seq"> & { v: 2; tenant_seq: number } {
  return { ...record, v: 2, tenant_seq: tenantSeq };
}

/** The tenant a record belongs to: a decision's principal, a v2 outcome's or admin's `tenant`. */
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
 * What a caller supplies for a v1 decision record (the format of older logs, kept for tests of
 * compatibility); id and time default to a new UUIDv7 and now.
 */
export type DecisionInput = Omit<DecisionRecordV1, "v" | "kind" | "decision_id" | "time_us"> & {
  decision_id?: string;
  time_us?: number;
};

/** Builds and strictly validates a v1 decision record. */
export function buildDecisionRecord(input: DecisionInput): DecisionRecordV1 {
  const time_us = input.time_us ?? nowUs();
  const record = {
    v: 1,
    kind: "decision",
    ...input,
    decision_id: input.decision_id ?? uuidv7(Math.floor(time_us / 1000)),
    time_us,
  };
  return validateRecord(record) as DecisionRecordV1;
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

/** The bytes that are signed and logged: UTF-8 of RFC 8785 JSON, its numbers integers only. */
export function encodeRecord(record: object): Uint8Array {
  return encodeWith(record, undefined);
}

/**
 * {@link encodeRecord} of `withTenantSeq(record, tenantSeq)`, without the copy: the log numbers
 * and signs every record on the request path this way.
 */
export function encodeSequenced(record: object, tenantSeq: number): Uint8Array {
  return encodeWith(record, { v: 2, tenant_seq: tenantSeq });
}

function encodeWith(record: object, overlay: Readonly<Record<string, number>> | undefined): Uint8Array {
  let text: string;
  try {
    text = canonicalizeRecord(record, overlay);
  } catch (err) {
    if (err instanceof NotSafeIntegerError) throw new RecordFormatError(err.message, { cause: err });
    throw err;
  }
  return encoder.encode(text);
}

/**
 * The fields every record has, whatever its kind; `tenant_seq` in v2. An admin record has an
 * `event_id` where the others have a `decision_id` (which it then lacks).
 */
export interface RecordHeader {
  v: RecordVersion;
  kind: "decision" | "outcome" | "admin";
  decision_id: string;
  time_us: number;
  tenant_seq?: number;
  [field: string]: unknown;
}

/**
 * Parses record bytes as a verifier must: valid UTF-8, one JSON object, integers only, exactly
 * canonical (re-encoding gives the same bytes: no whitespace, sorted keys, no duplicate keys,
 * shortest numbers), v = 1 or 2, a known kind, a UUIDv7 decision id (an admin record's
 * `event_id`) and a time; in v2 a `tenant_seq` ≥ 1 and the tenant it counts for (a decision's
 * `principal.tenant`, an outcome's or admin record's `tenant`). Admin records exist from v2.
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
  if (r.kind !== "decision" && r.kind !== "outcome" && !(r.kind === "admin" && r.v === 2))
    throw new RecordFormatError(`$.kind: unknown kind`);
  const idField = r.kind === "admin" ? "event_id" : "decision_id";
  const id = r[idField];
  if (typeof id !== "string" || !isUuidv7(id)) throw new RecordFormatError(`$.${idField}: not a UUIDv7`);
  if (typeof r.time_us !== "number" || r.time_us < 0) throw new RecordFormatError("$.time_us: missing");
  if (r.v === 2) {
    if (typeof r.tenant_seq !== "number" || r.tenant_seq < 1)
      throw new RecordFormatError("$.tenant_seq: missing or below 1 in a v2 record");
    if (recordTenant(r) === undefined)
      throw new RecordFormatError(
        r.kind === "decision" ? "$.principal.tenant: missing" : `$.tenant: missing in a v2 ${r.kind} record`,
      );
  } else if (r.tenant_seq !== undefined) {
    throw new RecordFormatError("$.tenant_seq: only v2 records have one");
  }
  return r as RecordHeader;
}
