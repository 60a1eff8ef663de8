import type { LoadedPolicy } from "@open-policy-agent/opa-wasm";
import type { PolicyBundle } from "./bundle.js";
import type { PolicyDecision, PolicyEndpointInput, PolicyInput } from "./types.js";

/**
 * Per-bundle precomputation and the decision cache (docs/policies.md §9).
 *
 * A bundle built by `sovr policy build` declares in its (signed) manifest which input paths
 * its rules read (`metadata.sovereign_router.decision_input`, found on the parsed Rego,
 * src/policy/input-paths.ts) and, when no rule calls a non-deterministic builtin or reads
 * `input.now`, `time_independent: true`. The engine then:
 * - sends the Wasm only those paths (plus the candidate ids): a smaller input to encode
 *   and parse, same decision, since no rule can see what was left out;
 * - for a time-independent bundle whose compiled Wasm imports only deterministic host
 *   builtins ({@link wasmHostBuiltins}), keeps the decision per reduced input, for this
 *   bundle and catalog revision: the same rules on the same data and the same input give
 *   the same answer. Anything undeclared or unrecognised is not cached (fail closed: the
 *   policy is evaluated every time).
 */

/** The catalog as an engine loads it into an instance's data (what candidates are named by). */
export interface CandidateCatalog {
  byId: ReadonlyMap<string, PolicyEndpointInput>;
  /** Each endpoint (the very object) → its position in `data.catalog.ids`. */
  at: ReadonlyMap<PolicyEndpointInput, number>;
}

/** How a bundle's inputs go by endpoint ids, and its decision cache, if it may have one. */
export class ByIdsInput {
  /** The input paths the bundle reads (its manifest's), if it declares them. */
  private readonly project: InputProjection | undefined;
  /**
   * The bundle names the candidates by position in `data.catalog.ids` (`input.endpoint_at`,
   * its manifest's `endpoint_at`); else by id (`input.endpoint_ids`, bundles before 2026-12-03).
   */
  readonly positions: boolean;
  /** Decisions by reduced input ({@link enableCache}). */
  cache: DecisionCache | undefined;
  uncachedBecause: string | undefined = "the bundle does not take endpoint ids";

  constructor(private readonly bundle: PolicyBundle) {
    this.project = declaredProjection(bundle);
    this.positions = marker(bundle)?.endpoint_at === true;
  }

  /**
   * The candidates as this bundle's input names them — their positions in `catalog`, or
   * `ids` — or undefined when one is not the very endpoint `catalog` holds (the input then
   * carries the endpoints inline).
   */
  candidates(
    catalog: CandidateCatalog,
    endpoints: readonly PolicyEndpointInput[],
    ids: readonly string[],
  ): readonly number[] | readonly string[] | undefined {
    if (!this.positions) {
      for (const e of endpoints) if (catalog.byId.get(e.id) !== e) return undefined;
      return ids;
    }
    const at: number[] = new Array(endpoints.length);
    for (let i = 0; i < endpoints.length; i++) {
      const p = catalog.at.get(endpoints[i]!);
      if (p === undefined) return undefined;
      at[i] = p;
    }
    return at;
  }

  /** Caches decisions if the bundle and its Wasm allow it (`policy`: an instance before setData). */
  enableCache(policy: LoadedPolicy, size: number): void {
    this.uncachedBecause = size > 0 ? notCacheable(this.bundle, policy) : "the decision cache is off";
    if (!this.uncachedBecause) this.cache = new DecisionCache(size);
  }

  /**
   * The input as JSON: the paths the bundle reads (all but the endpoints when undeclared) and
   * the candidates ({@link candidates}).
   */
  json(input: PolicyInput, candidates: readonly number[] | readonly string[]): string {
    const rest = this.project ? this.project(input) : withoutEndpoints(input);
    return JSON.stringify(
      this.positions ? { ...rest, endpoint_at: candidates } : { ...rest, endpoint_ids: candidates },
    );
  }
}

/** Host builtins opa-wasm implements in JavaScript, all functions of their arguments only. */
const DETERMINISTIC_HOST_BUILTINS = new Set([
  "sprintf",
  "json.is_valid",
  "regex.split",
  "yaml.is_valid",
  "yaml.marshal",
  "yaml.unmarshal",
]);

/** Takes the declared paths out of an input (request, principal, now; never the endpoints). */
export type InputProjection = (input: PolicyInput) => Record<string, unknown>;

/** The reduced input a bundle declares, or undefined when it declares none (send everything). */
export function declaredProjection(bundle: PolicyBundle): InputProjection | undefined {
  const paths = marker(bundle)?.decision_input;
  if (!Array.isArray(paths) || paths.length === 0) return undefined;
  const checked: string[][] = [];
  for (const p of paths) {
    if (!Array.isArray(p) || p.length === 0 || !p.every((s) => typeof s === "string")) return undefined;
    // The candidates go as `endpoint_at` or `endpoint_ids`, by the engine.
    if (p[0] !== "endpoints" && p[0] !== "endpoint_ids" && p[0] !== "endpoint_at")
      checked.push(p as string[]);
  }
  return (input) => project(input as unknown as Record<string, unknown>, checked);
}

/**
 * Why the bundle's decisions may not be cached, or undefined when they may: the manifest
 * declares it time-independent with its input paths, and the Wasm calls no host builtin but
 * deterministic ones.
 */
export function notCacheable(bundle: PolicyBundle, policy: LoadedPolicy): string | undefined {
  const m = marker(bundle);
  if (m?.time_independent !== true) return "the bundle is not declared time-independent";
  if (!declaredProjection(bundle)) return "the bundle declares no input paths";
  const builtins = wasmHostBuiltins(policy);
  if (!builtins) return "the Wasm module's builtins cannot be read";
  const other = builtins.filter((b) => !DETERMINISTIC_HOST_BUILTINS.has(b));
  if (other.length > 0) return `the Wasm module calls ${other.join(", ")}`;
  return undefined;
}

/**
 * The host builtins the compiled Wasm imports (its `builtins()` export: `time.now_ns`,
 * `rand.intn`, `http.send`… are host builtins), or undefined when they cannot be read.
 * Call before `setData` (it allocates on the Wasm heap, which setData resets).
 */
export function wasmHostBuiltins(policy: LoadedPolicy): string[] | undefined {
  const p = policy as unknown as {
    mem?: { buffer: ArrayBuffer };
    wasmInstance?: { exports?: { builtins?: () => number; opa_json_dump?: (addr: number) => number } };
  };
  const exports = p.wasmInstance?.exports;
  if (!p.mem || typeof exports?.builtins !== "function" || typeof exports.opa_json_dump !== "function")
    return undefined;
  try {
    const at = exports.opa_json_dump(exports.builtins());
    const bytes = new Uint8Array(p.mem.buffer);
    const end = bytes.indexOf(0, at);
    if (end < 0) return undefined;
    const map = JSON.parse(new TextDecoder().decode(bytes.subarray(at, end))) as unknown;
    if (typeof map !== "object" || map === null || Array.isArray(map)) return undefined;
    return Object.keys(map).sort();
  } catch {
    return undefined;
  }
}

/**
 * Decisions by reduced input (as JSON, with the candidate ids), for one catalog revision at
 * a time; the least recently used entry goes first when full. Decisions are frozen (every
 * hit hands out the same object) and their strings shared between entries (the same
 * reasons recur in most decisions).
 */
export class DecisionCache {
  private catalog: object | undefined;
  private readonly entries = new Map<string, PolicyDecision>();
  private readonly strings = new Map<string, string>();
  /** Reason lists by their JSON: the same endpoint under the same checks gets the same list. */
  private readonly lists = new Map<string, string[]>();
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries: number) {}

  get(catalog: object, key: string): PolicyDecision | undefined {
    const found = this.catalog === catalog ? this.entries.get(key) : undefined;
    if (found) {
      this.hits++;
      this.entries.delete(key);
      this.entries.set(key, found);
    } else this.misses++;
    return found;
  }

  set(catalog: object, key: string, decision: PolicyDecision): PolicyDecision {
    if (this.catalog !== catalog) {
      this.entries.clear();
      this.strings.clear();
      this.lists.clear();
      this.catalog = catalog;
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    // Bounded too: strings of evicted entries stay until the table is cleared.
    if (this.strings.size > this.maxEntries * 64) this.strings.clear();
    if (this.lists.size > this.maxEntries * 64) this.lists.clear();
    // (A decision from the result memo is frozen and shared already.)
    if (!Object.isFrozen(decision)) {
      this.share(decision);
      deepFreeze(decision);
    }
    this.entries.set(key, decision);
    return decision;
  }

  /** Replaces the decision's strings with equal ones already held. */
  private share(d: PolicyDecision): void {
    const one = (x: string) => {
      const held = this.strings.get(x);
      if (held !== undefined) return held;
      this.strings.set(x, x);
      return x;
    };
    const all = (a: string[]) => {
      for (let i = 0; i < a.length; i++) a[i] = one(a[i]!);
    };
    all(d.allow);
    all(d.permittedParameters);
    if (d.applied) all(d.applied);
    for (const id in d.deny) {
      const key = JSON.stringify(d.deny[id]);
      const held = this.lists.get(key);
      if (held) d.deny[id] = held;
      else {
        // (A list from the engine's reason memo is frozen and shared already.)
        if (!Object.isFrozen(d.deny[id])) all(d.deny[id]!);
        this.lists.set(key, d.deny[id]!);
      }
    }
    if (d.obligations) for (const id in d.obligations) all(d.obligations[id]!.redact);
  }

  get size(): number {
    return this.entries.size;
  }
}

function withoutEndpoints(input: PolicyInput): Record<string, unknown> {
  const { endpoints: _, ...rest } = input;
  return rest;
}

function marker(bundle: PolicyBundle): Record<string, unknown> | undefined {
  const m = bundle.manifest.metadata?.sovereign_router;
  return typeof m === "object" && m !== null && !Array.isArray(m)
    ? (m as Record<string, unknown>)
    : undefined;
}

/** A new object with the values at `paths` (absent ones left out), sharing the values. */
function project(
  input: Readonly<Record<string, unknown>>,
  paths: readonly string[][],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    let from: unknown = input;
    for (const key of path) {
      if (typeof from !== "object" || from === null || Array.isArray(from) || !Object.hasOwn(from, key)) {
        from = undefined;
        break;
      }
      from = (from as Record<string, unknown>)[key];
    }
    if (from === undefined) continue;
    let to = out;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i]!;
      to[key] ??= {};
      to = to[key] as Record<string, unknown>;
    }
    to[path.at(-1)!] = from;
  }
  return out;
}

function deepFreeze(o: object): void {
  for (const v of Object.values(o)) if (typeof v === "object" && v !== null) deepFreeze(v);
  Object.freeze(o);
}
