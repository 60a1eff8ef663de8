import { loadPolicy } from "@open-policy-agent/opa-wasm";
import { ENTRYPOINT, type PolicyBundle } from "./bundle.js";
import type { KnownProblems } from "./decision.js";
import { ByIdsInput, type DecisionCache } from "./decision-cache.js";
import { ENDPOINT_IDS_METADATA } from "./endpoint-access.js";
import { PolicyBundleError, PolicyEvaluationError, PolicyUnavailableError } from "./errors.js";
import { type Instance, InstancePool, type LoadedCatalog, takesEndpointIds } from "./instance-pool.js";
import type { BundleRef, PolicyDecision, PolicyEndpointInput, PolicyInput } from "./types.js";
import { fastEvaluate } from "./wasm-eval.js";

// The WebAssembly global exists in Node, but this project's lib settings (ES2023, no DOM)
// do not declare it; this is the one call we need.
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<object> };

export interface PolicyEngineOptions {
  /** Loaded instances per bundle (default 2). One opa-wasm instance evaluates one input at a time. */
  poolSize?: number;
  /**
   * An evaluation using more CPU time than this fails closed (default 50 ms). Checked by the
   * wall clock first (synchronous Wasm cannot use more CPU than the time that passed); only
   * an evaluation over budget by the wall clock is timed again in CPU time.
   */
  timeBudgetMicros?: number;
  /** Initial Wasm memory pages (64 KiB each) per instance (default 16). */
  memoryPages?: number;
  /**
   * Most Wasm memory pages per instance (default: unbounded). An evaluation that needs more
   * fails closed. Set for bundles nobody activated (policy impact's drafts).
   */
  maxMemoryPages?: number;
  /**
   * Decisions kept per bundle for time-independent bundles (see src/policy/decision-cache.ts),
   * keyed on the reduced input for the same bundle and catalog revision (default 1024; 0: none).
   */
  decisionCacheSize?: number;
  /** Decisions kept per bundle by the Wasm's result text (src/policy/result-memo.ts; default 256, 0: none). */
  resultMemoSize?: number;
}

/** The result of one evaluation: the decision and the bundle that made it. */
export interface PolicyEvaluation {
  decision: PolicyDecision;
  bundle: BundleRef;
  /**
   * Wall time of the Wasm evaluation including input/output (de)serialisation (the first run,
   * if timed twice); for a cached decision, the time to find it.
   */
  evalMicros: number;
  /** The decision is the one an earlier evaluation of the same reduced input gave (same bundle and catalog). */
  cached?: true;
}

/** How many evaluations named the candidates or passed them inline, and catalog loads. */
export interface PolicyEngineStats {
  /**
   * Evaluations whose input only named the candidates (`endpoint_at`, or `endpoint_ids` for
   * older bundles; the endpoints in the instance's data), cached ones included.
   */
  byIds: number;
  /** Evaluations whose input carried the endpoints inline. */
  inline: number;
  /** Catalogs loaded into an instance's data (once per instance and catalog revision). */
  catalogLoads: number;
}

/** A bundle instantiated into a pool, not yet serving; see {@link PolicyEngine.prepare}. */
export interface PreparedPolicy {
  readonly ref: BundleRef;
  /** @internal */
  readonly pool: InstancePool;
}

/**
 * Evaluates the `sovereign/route` entrypoint of the active bundle (docs/architecture.md §5).
 *
 * Each bundle gets its own pool of opa-wasm instances, compiled once and loaded with the
 * bundle's data once per instance; nothing is reloaded per request. Swapping bundles
 * replaces the pool reference atomically: an evaluation that has started keeps the pool
 * (and bundle) it started with, later ones use the new pool.
 *
 * Endpoints as data: decoding a JSON input inside Wasm costs about 6 µs per candidate
 * endpoint, more than the rules. So {@link setCatalog} hands the engine the catalog's
 * policy view of every endpoint; for bundles built to read the candidates through
 * `lib.endpoints` (manifest metadata, see {@link ENDPOINT_IDS_METADATA}), each instance
 * holds them in `data.catalog` (their ids in order, the endpoints by id), loaded once per
 * instance and catalog, and a request's input carries only the candidates' positions in
 * those ids (`endpoint_at`; `endpoint_ids` for bundles built before 2026-12-03, see
 * {@link ByIdsInput}). An input is sent that way only when every
 * candidate is the very object loaded into the instance, so a request built from an
 * older catalog (a catalog swap while it was in flight), a replay of a stored catalog, or
 * a bundle without the marker gets its endpoints inline: the decision is the same either
 * way, only the cost differs.
 *
 * opa-wasm evaluates synchronously, so within one thread instances never run in parallel
 * and the time budget is checked when the evaluation returns, not preemptively (Rego
 * compiled to Wasm always terminates). The pool keeps an instance exclusive to one
 * evaluation from input to parsed output and is the unit that is swapped.
 *
 * @example
 * const engine = new PolicyEngine({ poolSize: 2 });
 * await engine.load(await readBundle(bytes));
 * const { decision, bundle } = await engine.evaluate(input);
 */
export class PolicyEngine {
  private active: InstancePool | undefined;
  private catalog: LoadedCatalog | undefined;
  readonly stats: PolicyEngineStats = { byIds: 0, inline: 0, catalogLoads: 0 };
  private readonly poolSize: number;
  private readonly budgetMicros: number;
  private readonly memoryPages: number;
  private readonly maxMemoryPages: number | undefined;
  private readonly cacheSize: number;
  private readonly memoSize: number;

  constructor(options: PolicyEngineOptions = {}) {
    this.poolSize = Math.max(1, options.poolSize ?? 2);
    this.budgetMicros = options.timeBudgetMicros ?? 50_000;
    this.memoryPages = options.memoryPages ?? 16;
    this.maxMemoryPages = options.maxMemoryPages;
    this.cacheSize = Math.max(0, Math.floor(options.decisionCacheSize ?? 1024));
    this.memoSize = Math.max(0, Math.floor(options.resultMemoSize ?? 256));
  }

  /** The bundle new evaluations use, if any. */
  get current(): BundleRef | undefined {
    return this.active?.ref;
  }

  /** The active bundle's decision cache (hits, misses, entries), if its decisions are cached. */
  get decisionCache(): Pick<DecisionCache, "hits" | "misses" | "size"> | undefined {
    return this.active?.byIds.cache;
  }

  /** Why the active bundle's decisions are not cached; undefined when they are (or no bundle is loaded). */
  get uncachedBecause(): string | undefined {
    const pool = this.active;
    return pool && !pool.byIds.cache ? pool.byIds.uncachedBecause : undefined;
  }

  /** Whether the active bundle takes endpoint ids with the endpoints as data. */
  get takesEndpointIds(): boolean {
    return this.active?.takesIds ?? false;
  }

  /**
   * Makes `endpoints` (the policy view of every catalog endpoint, see `catalogPolicyEndpoints`)
   * the data candidates are looked up in, from now on. Call it when the catalog changes; the
   * active pool's instances load it at once, others when next used. The objects must not be
   * mutated afterwards: a request is sent by ids only if its candidates are these objects.
   */
  setCatalog(endpoints: readonly PolicyEndpointInput[]): void {
    const byId = new Map<string, PolicyEndpointInput>();
    const json: Record<string, PolicyEndpointInput> = {};
    for (const e of endpoints) {
      byId.set(e.id, e);
      json[e.id] = e;
    }
    // Positions in `data.catalog.ids` (the ids in the order of `byId`: a repeated id keeps its
    // first place and its last endpoint, as `json` does).
    const at = new Map<PolicyEndpointInput, number>();
    let n = 0;
    for (const e of byId.values()) at.set(e, n++);
    this.catalog = {
      byId,
      at,
      endpointsJson: JSON.stringify(json),
      idsJson: JSON.stringify([...byId.keys()]),
    };
    const pool = this.active;
    if (pool) for (const instance of pool.instances) this.sync(pool, instance);
  }

  /** Compiles and instantiates a bundle without activating it (throws {@link PolicyBundleError}). */
  async prepare(bundle: PolicyBundle): Promise<PreparedPolicy> {
    let module: object;
    try {
      module = await WebAssembly.compile(bundle.wasm);
    } catch (cause) {
      throw new PolicyBundleError(`policy.wasm does not compile: ${(cause as Error).message}`, { cause });
    }
    const pool = new InstancePool(bundle, takesEndpointIds(bundle), this.memoSize);
    try {
      for (let i = 0; i < this.poolSize; i++) {
        const policy = await loadPolicy(module as Parameters<typeof loadPolicy>[0], {
          initial: this.memoryPages,
          ...(this.maxMemoryPages === undefined ? {} : { maximum: this.maxMemoryPages }),
        });
        if (!Object.hasOwn(policy.entrypoints as object, ENTRYPOINT)) {
          throw new Error(
            `entrypoint ${ENTRYPOINT} missing (has ${Object.keys(policy.entrypoints).join(", ")})`,
          );
        }
        // Before setData (the check allocates on the Wasm heap that setData resets).
        if (i === 0 && pool.takesIds) pool.byIds.enableCache(policy, this.cacheSize);
        policy.setData(bundle.data);
        const entrypoint = (policy.entrypoints as Record<string, number>)[ENTRYPOINT]!;
        const instance: Instance = { policy, run: fastEvaluate(policy, entrypoint), catalog: undefined };
        pool.add(instance);
        // Catalog data too, so the first requests after the swap do not pay for it.
        this.sync(pool, instance);
      }
    } catch (cause) {
      throw new PolicyBundleError(`policy.wasm does not load: ${errorMessage(cause)}`, { cause });
    }
    return { ref: bundle.ref, pool };
  }

  /** Makes a prepared bundle the one new evaluations use. */
  activate(prepared: PreparedPolicy): void {
    this.active = prepared.pool;
  }

  /** {@link prepare} then {@link activate}. */
  async load(bundle: PolicyBundle): Promise<BundleRef> {
    const prepared = await this.prepare(bundle);
    this.activate(prepared);
    return prepared.ref;
  }

  /**
   * Evaluates one request. Throws {@link PolicyUnavailableError} when no bundle is loaded and
   * {@link PolicyEvaluationError} when the policy fails, is too slow or returns something
   * that is not a decision; either way the request must not be routed.
   */
  async evaluate(input: PolicyInput): Promise<PolicyEvaluation> {
    const pool = this.active;
    if (!pool) throw new PolicyUnavailableError();
    const ids = input.endpoints.map((e) => e.id);
    const idSet = new Set(ids);
    if (idSet.size !== ids.length) {
      throw new PolicyEvaluationError("input", "candidate endpoint ids are not unique");
    }
    // By ids, for a bundle whose decisions may be cached: the same reduced input on the same
    // bundle and catalog was answered before? (Same decision as evaluating it again.)
    let key: string | undefined;
    const catalog = this.catalog;
    const cache = pool.byIds.cache;
    const named = cache && catalog && pool.byIds.candidates(catalog, input.endpoints, ids);
    if (cache && named) {
      const started = performance.now();
      key = pool.byIds.json(input, named);
      const hit = cache.get(catalog, key);
      if (hit) {
        this.stats.byIds++;
        const evalMicros = Math.round((performance.now() - started) * 1000);
        return { decision: hit, bundle: pool.ref, evalMicros, cached: true };
      }
    }
    const instance = await pool.acquire();
    let raw: string;
    let evalMicros: number;
    // The problems loaded with the catalog, which the answer may refer to (by-ids only).
    let known: KnownProblems | undefined;
    // The catalog in the instance's data, when the input went by ids (the cache's key).
    let byIds: LoadedCatalog | undefined;
    try {
      // From here to the result nothing awaits: the instance's data cannot change under us.
      const started = performance.now();
      let json: string | undefined;
      if (this.sync(pool, instance)) {
        // The key was made for the catalog of the time; the instance may hold a newer one by
        // now (a swap while this waited for it), where the positions differ.
        if (key !== undefined && instance.catalog === catalog) json = key;
        else {
          key = undefined;
          const sent = pool.byIds.candidates(instance.catalog!, input.endpoints, ids);
          if (sent) json = pool.byIds.json(input, sent);
        }
      }
      if (json !== undefined) {
        known = instance.known;
        byIds = instance.catalog;
        this.stats.byIds++;
      } else {
        if (instance.broken) throw new Error("policy instance lost its data after a failed catalog load");
        json = JSON.stringify(input);
        this.stats.inline++;
      }
      raw = instance.run(json);
      evalMicros = Math.round((performance.now() - started) * 1000);
      // The budget counts CPU time, not wall time: a policy is only "too slow" for what it
      // computes, never because the process was descheduled or the machine is loaded. CPU
      // time cannot exceed the wall time of a synchronous call, so only an evaluation over
      // budget by the wall clock is run again and timed in CPU time (the same input on the
      // same data gives the same result), which saves two getrusage calls per request.
      if (evalMicros >= this.budgetMicros) {
        const cpu = process.cpuUsage();
        instance.run(json);
        const used = process.cpuUsage(cpu);
        const cpuMicros = used.user + used.system;
        if (cpuMicros >= this.budgetMicros) {
          throw new PolicyEvaluationError(
            "timeout",
            `used ${cpuMicros} µs of CPU, budget ${this.budgetMicros} µs`,
          );
        }
      }
    } catch (cause) {
      if (cause instanceof PolicyEvaluationError) throw cause;
      throw new PolicyEvaluationError("error", errorMessage(cause), { cause });
    } finally {
      pool.release(instance);
    }
    let decision = pool.results.decide(raw, ids, idSet, known, known && pool.reasonMemo(known));
    if (cache && byIds && key !== undefined) decision = cache.set(byIds, key, decision);
    return { decision, bundle: pool.ref, evalMicros };
  }

  /**
   * Brings an instance's data to the current catalog (no-op when it has it, or when the
   * bundle does not take endpoint ids). Returns whether the instance holds a catalog. A
   * failed load leaves the instance with the bundle's data only (inline endpoints).
   */
  private sync(pool: InstancePool, instance: Instance): boolean {
    const catalog = this.catalog;
    if (!pool.takesIds || !catalog || instance.broken) return false;
    if (instance.catalog === catalog) return true;
    if (instance.failed === catalog) return false;
    instance.catalog = undefined;
    instance.known = undefined;
    try {
      const data = pool.dataWith(catalog, instance);
      instance.policy.setData(data.json);
      instance.catalog = catalog;
      instance.known = data.known;
      this.stats.catalogLoads++;
      return true;
    } catch {
      // (Out of memory, most likely.) Not retried for this catalog; setData may have failed
      // half-way, so the bundle's own data is restored, or the instance refuses to evaluate.
      instance.failed = catalog;
      try {
        instance.policy.setData(pool.bundle.data);
      } catch {
        instance.broken = true;
      }
      return false;
    }
  }
}

/** opa-wasm throws strings and `{message}` objects as well as Errors. */
function errorMessage(cause: unknown): string {
  const message = (cause as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : String(cause);
}
