import { PolicyEvaluationError } from "./errors.js";
import type { EndpointObligations, PolicyDecision } from "./types.js";

/**
 * Endpoint id → its problems by key, each a message or null: `data.catalog.problems` as
 * loaded into the instance. The shipped bundle keys them by index (an array per endpoint, in
 * the order of `lib.static_attributes`); bundles before 2026-12-01 by name (an object).
 */
export type KnownProblems = Readonly<
  Record<string, Readonly<Record<string, string | null>> | readonly (string | null)[] | undefined>
>;

/**
 * Reason lists already worked out, for one catalog's known problems: the same endpoint with
 * the same known problems under the same checks has the same reasons (sorted, distinct,
 * frozen). Held by the engine per bundle and catalog revision; bounded by the caller.
 */
export interface ReasonMemo {
  known: KnownProblems;
  /** The checks and keys as JSON → what they give. */
  lists: Map<string, ChecksMemo>;
}

/** For one set of checks and keys: the checks applied, and endpoint id → its reasons. */
interface ChecksMemo {
  applied: readonly string[];
  byId: Map<string, { found: readonly number[]; reasons: readonly string[] }>;
}

/** Reason given for a candidate the policy neither allowed nor denied (fail closed). */
export const UNDECIDED_REASON = "policy: endpoint neither allowed nor denied by the policy (fail closed)";

/**
 * Turns the raw result set of `sovereign/route` (`[{result: {…}}]`) into a
 * {@link PolicyDecision} over exactly the candidate ids the policy was asked about.
 *
 * Three output shapes are understood (policies/route.rego):
 * - `{allow, checks, keys, problems, deny?}`, the shipped policy's: `allow` holds the allowed
 *   candidates' positions in `candidateIds` (ids in bundles before 2026-12-03); `problems` is an array
 *   with one entry per candidate, in candidate order, each `[]` or `[[i, message]…]`; each
 *   prefix in `checks[i]` followed by `message` is one reason; a bare `i` stands for the
 *   message `known[id][keys[i]]` (the problems loaded with the catalog, which the policy
 *   read). Reasons rules add directly come in `deny` (id → reasons), if any. Written out of
 *   Wasm, prefix and message separately cost a third of the joined strings, known messages
 *   nothing, and entries by position no id and no sorted object.
 * - The same with `problems` an object, endpoint id → entries (bundles before 2026-12-01).
 * - `{allow, deny}` with `deny` id → reasons: bundles built before that (replays).
 * Either may carry `permitted_parameters` (names) and `prefer_local` (a boolean: plan local
 * endpoints first).
 *
 * `allow` keeps the candidates' order; reasons are distinct and sorted so records are
 * deterministic. Anything unexpected — wrong shape, unknown or doubly-decided ids, a
 * denied endpoint without a reason — is a {@link PolicyEvaluationError} of kind
 * `malformed`; a candidate the policy does not mention is denied with {@link UNDECIDED_REASON}.
 */
export function parseDecision(
  raw: unknown,
  candidateIds: readonly string[],
  candidates: ReadonlySet<string> = new Set(candidateIds),
  known?: KnownProblems,
  memo?: ReasonMemo,
): PolicyDecision {
  if (!Array.isArray(raw) || raw.length !== 1) malformed("expected exactly one result");
  const result = (raw[0] as { result?: unknown } | null)?.result;
  if (!isObject(result)) malformed("result is not an object");
  const {
    allow,
    deny,
    checks,
    keys,
    problems,
    permitted_parameters: permitted,
    obligations,
    prefer_local,
  } = result;
  if (!Array.isArray(allow)) malformed("allow is not an array");
  const compact = problems !== undefined || checks !== undefined;
  if (!(deny === undefined && compact) && !isObject(deny)) malformed("deny is not an object");

  const allowed = new Set<string>();
  for (const entry of allow) {
    if (typeof entry === "number") {
      const id = candidateIds[entry];
      if (id === undefined || !Number.isInteger(entry))
        malformed(`allow names position ${entry} of ${candidateIds.length} candidates`);
      allowed.add(id);
      continue;
    }
    if (typeof entry !== "string") malformed("allow holds neither an id nor a position");
    if (!candidates.has(entry)) malformed(`allow names unknown endpoint ${JSON.stringify(entry)}`);
    allowed.add(entry);
  }
  // Endpoint id → reasons (fresh arrays: the engine's own parse, so they may be reused).
  const reasons = new Map<string, string[]>();
  // Endpoint id → its reasons from the memo (only known problems, no reason from `deny`).
  const remembered = new Map<string, readonly string[]>();
  // The memo for these checks and keys (undefined: no memo for this answer; a new one is
  // filled in once the checks are validated).
  let lists: ChecksMemo | undefined;
  let checksKey: string | undefined;
  if (memo && memo.known === known && compact) {
    checksKey = JSON.stringify([checks, keys]);
    lists = memo.lists.get(checksKey);
  }
  // Endpoint id → the known problems it was found with, to remember its reasons under.
  const memoFound = new Map<string, readonly number[]>();
  if (deny !== undefined) {
    for (const id in deny) {
      const list = (deny as Record<string, unknown>)[id];
      if (!Array.isArray(list) || list.length === 0)
        malformed(`deny of ${JSON.stringify(id)} has no reasons`);
      for (const r of list) {
        if (typeof r !== "string" || r === "")
          malformed(`deny of ${JSON.stringify(id)} holds a non-string reason`);
      }
      reasons.set(decided(id, candidates, allowed), list as string[]);
    }
  }
  if (compact) {
    if (!Array.isArray(checks)) malformed("checks is not an array");
    const positional = Array.isArray(problems);
    if (!positional && !isObject(problems)) malformed("problems is neither an array nor an object");
    if (positional && problems.length !== candidateIds.length)
      malformed(`problems has ${problems.length} entries for ${candidateIds.length} candidates`);
    if (!lists) {
      for (const prefixes of checks) {
        if (!Array.isArray(prefixes) || prefixes.length === 0) malformed("a check has no reason prefixes");
        for (const p of prefixes)
          if (typeof p !== "string" || p === "") malformed("a check holds a non-string prefix");
      }
      if (keys !== undefined && (!Array.isArray(keys) || keys.length !== checks.length))
        malformed("keys do not match checks");
      if (checksKey !== undefined) {
        // Only checks validated above are remembered: a memo hit skips their validation.
        lists = { applied: distinct(sortStrings((checks as string[][]).flat())), byId: new Map() };
        memo!.lists.set(checksKey, lists);
      }
    }
    const ids = positional ? candidateIds : Object.keys(problems);
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      const found: unknown = positional ? problems[k] : problems[id];
      if (!Array.isArray(found)) malformed(`problems of ${JSON.stringify(id)} are not an array`);
      if (found.length === 0) {
        if (positional) continue;
        malformed(`problems of ${JSON.stringify(id)} are empty`);
      }
      const deniedToo = reasons.has(decided(id, candidates, allowed));
      if (lists && !deniedToo && allIntegers(found)) {
        const held = lists.byId.get(id);
        if (held && sameNumbers(held.found, found)) {
          remembered.set(id, held.reasons);
          continue;
        }
        memoFound.set(id, found);
      }
      const list = reasons.get(id) ?? [];
      for (const entry of found) {
        const pair = Array.isArray(entry);
        const [i, message] = pair ? entry : [entry, knownMessage(known, id, keys, entry)];
        const prefixes = Number.isInteger(i) ? (checks[i as number] as string[] | undefined) : undefined;
        if (!prefixes || typeof message !== "string" || message === "" || (pair && entry.length !== 2))
          malformed(
            `problems of ${JSON.stringify(id)} hold something other than [check, message] or a known check`,
          );
        for (const p of prefixes) list.push(p + message);
      }
      reasons.set(id, list);
    }
  }

  const permittedParameters: string[] = [];
  if (permitted !== undefined) {
    if (!Array.isArray(permitted)) malformed("permitted_parameters is not an array");
    for (const p of permitted) {
      if (typeof p !== "string" || p === "") malformed("permitted_parameters holds a non-string");
      permittedParameters.push(p);
    }
  }
  if (prefer_local !== undefined && typeof prefer_local !== "boolean")
    malformed("prefer_local is not a boolean");
  const decision: PolicyDecision = { allow: [], deny: {}, permittedParameters };
  if (compact)
    decision.applied = lists ? lists.applied.slice() : distinct(sortStrings((checks as string[][]).flat()));
  if (obligations !== undefined) decision.obligations = parseObligations(obligations, candidates, allowed);
  if (prefer_local === true) decision.preferLocal = true;
  for (const id of candidateIds) {
    if (allowed.has(id)) decision.allow.push(id);
    else {
      const held = remembered.get(id);
      if (held) {
        decision.deny[id] = held as string[];
        continue;
      }
      const list = reasons.get(id);
      decision.deny[id] = list ? distinct(sortStrings(list)) : [UNDECIDED_REASON];
      const found = memoFound.get(id);
      if (found !== undefined && list)
        lists!.byId.set(id, { found, reasons: Object.freeze(decision.deny[id]!) });
    }
  }
  return decision;
}

/**
 * `obligations`: endpoint id → `{redact: [category…]}`, kept for allowed endpoints only (a
 * denied endpoint is not sent anything). Anything else is malformed.
 */
function parseObligations(
  raw: unknown,
  candidates: ReadonlySet<string>,
  allowed: ReadonlySet<string>,
): Record<string, EndpointObligations> {
  const out: Record<string, EndpointObligations> = {};
  if (!isObject(raw)) malformed("obligations is not an object");
  for (const id of Object.keys(raw)) {
    if (!candidates.has(id)) malformed(`obligations name unknown endpoint ${JSON.stringify(id)}`);
    const o = raw[id];
    if (!isObject(o)) malformed(`obligations of ${JSON.stringify(id)} is not an object`);
    for (const k of Object.keys(o))
      if (k !== "redact") malformed(`obligations of ${JSON.stringify(id)} hold an unknown obligation`);
    const redact = o.redact;
    if (!Array.isArray(redact) || redact.length === 0)
      malformed(`obligations of ${JSON.stringify(id)}: redact is not a non-empty array`);
    for (const c of redact)
      if (typeof c !== "string" || c === "" || c.includes(","))
        malformed(`obligations of ${JSON.stringify(id)}: redact holds something other than a category`);
    if (allowed.has(id)) out[id] = { redact: distinct(sortStrings([...(redact as string[])])) };
  }
  return out;
}

/** The message a bare check index stands for, or undefined (then the entry is malformed). */
function knownMessage(known: KnownProblems | undefined, id: string, keys: unknown, i: unknown): unknown {
  if (!known || !Array.isArray(keys) || !Number.isInteger(i)) return undefined;
  const key: unknown = keys[i as number];
  if (!Object.hasOwn(known, id)) return undefined;
  const problems = known[id];
  if (Array.isArray(problems)) return Number.isInteger(key) ? problems[key as number] : undefined;
  return typeof key === "string" && problems && Object.hasOwn(problems, key)
    ? (problems as Readonly<Record<string, string | null>>)[key]
    : undefined;
}

function allIntegers(a: readonly unknown[]): a is number[] {
  for (const e of a) if (!Number.isInteger(e)) return false;
  return true;
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `id` as a denied endpoint: a candidate, and not allowed. */
function decided(id: string, candidates: ReadonlySet<string>, allowed: ReadonlySet<string>): string {
  if (!candidates.has(id)) malformed(`deny names unknown endpoint ${JSON.stringify(id)}`);
  if (allowed.has(id)) malformed(`endpoint ${JSON.stringify(id)} is both allowed and denied`);
  return id;
}

/** Drops repeats from a sorted array, in place (two rules may give the same reason). */
function distinct(sorted: string[]): string[] {
  let n = 0;
  for (let i = 0; i < sorted.length; i++)
    if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
  sorted.length = n;
  return sorted;
}

/**
 * Sorts in place in the order of `Array.prototype.sort()` for strings (UTF-16 code units);
 * an insertion sort, several times faster than `sort()` for the handful of reasons an
 * endpoint gets.
 */
export function sortStrings(a: string[]): string[] {
  if (a.length > 16) return a.sort();
  for (let i = 1; i < a.length; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
  return a;
}

function malformed(message: string): never {
  throw new PolicyEvaluationError("malformed", message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
