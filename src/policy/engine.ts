import { type LoadedPolicy, loadPolicy } from "@open-policy-agent/opa-wasm";
import { ENTRYPOINT, type PolicyBundle } from "./bundle.js";
import { parseDecision } from "./decision.js";
import { PolicyBundleError, PolicyEvaluationError, PolicyUnavailableError } from "./errors.js";
import type { BundleRef, PolicyDecision, PolicyInput } from "./types.js";

// The WebAssembly global exists in Node, but this project's lib settings (ES2023, no DOM)
// do not declare it; this is the one call we need.
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<object> };

export interface PolicyEngineOptions {
  /** Loaded instances per bundle (default 2). One opa-wasm instance evaluates one input at a time. */
  poolSize?: number;
  /** An evaluation using more CPU time than this fails closed (default 50 ms). */
  timeBudgetMicros?: number;
  /** Initial Wasm memory pages (64 KiB each) per instance (default 16). */
  memoryPages?: number;
}

/** The result of one evaluation: the decision and the bundle that made it. */
export interface PolicyEvaluation {
  decision: PolicyDecision;
  bundle: BundleRef;
  /** Wall time of the Wasm evaluation including input/output (de)serialisation. */
  evalMicros: number;
}

/** A bundle instantiated into a pool, not yet serving; see {@link PolicyEngine.prepare}. */
export interface PreparedPolicy {
  readonly ref: BundleRef;
  /** @internal */
  readonly pool: InstancePool;
}

/**
 * Evaluates the `sovereign/route` entrypoint of the active bundle (DESIGN §5).
 *
 * Each bundle gets its own pool of opa-wasm instances, compiled once and loaded with the
 * bundle's data once per instance; nothing is reloaded per request. Swapping bundles
 * replaces the pool reference atomically: an evaluation that has started keeps the pool
 * (and bundle) it started with, later ones use the new pool.
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
  private readonly poolSize: number;
  private readonly budgetMicros: number;
  private readonly memoryPages: number;

  constructor(options: PolicyEngineOptions = {}) {
    this.poolSize = Math.max(1, options.poolSize ?? 2);
    this.budgetMicros = options.timeBudgetMicros ?? 50_000;
    this.memoryPages = options.memoryPages ?? 16;
  }

  /** The bundle new evaluations use, if any. */
  get current(): BundleRef | undefined {
    return this.active?.ref;
  }

  /** Compiles and instantiates a bundle without activating it (throws {@link PolicyBundleError}). */
  async prepare(bundle: PolicyBundle): Promise<PreparedPolicy> {
    let module: object;
    try {
      module = await WebAssembly.compile(bundle.wasm);
    } catch (cause) {
      throw new PolicyBundleError(`policy.wasm does not compile: ${(cause as Error).message}`, { cause });
    }
    const instances: LoadedPolicy[] = [];
    try {
      for (let i = 0; i < this.poolSize; i++) {
        const policy = await loadPolicy(module as Parameters<typeof loadPolicy>[0], {
          initial: this.memoryPages,
        });
        if (!Object.hasOwn(policy.entrypoints as object, ENTRYPOINT)) {
          throw new Error(
            `entrypoint ${ENTRYPOINT} missing (has ${Object.keys(policy.entrypoints).join(", ")})`,
          );
        }
        policy.setData(bundle.data);
        instances.push(policy);
      }
    } catch (cause) {
      throw new PolicyBundleError(`policy.wasm does not load: ${errorMessage(cause)}`, { cause });
    }
    return { ref: bundle.ref, pool: new InstancePool(bundle.ref, instances) };
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
    if (new Set(ids).size !== ids.length) {
      throw new PolicyEvaluationError("input", "candidate endpoint ids are not unique");
    }
    const instance = await pool.acquire();
    let raw: unknown;
    // The budget counts CPU time, not wall time: a policy is only "too slow" for what it
    // computes, never because the process was descheduled or the machine is loaded.
    const cpu = process.cpuUsage();
    const started = performance.now();
    try {
      raw = instance.evaluate(input, ENTRYPOINT);
    } catch (cause) {
      throw new PolicyEvaluationError("error", errorMessage(cause), { cause });
    } finally {
      pool.release(instance);
    }
    const evalMicros = Math.round((performance.now() - started) * 1000);
    const used = process.cpuUsage(cpu);
    const cpuMicros = used.user + used.system;
    if (cpuMicros >= this.budgetMicros) {
      throw new PolicyEvaluationError(
        "timeout",
        `used ${cpuMicros} µs of CPU, budget ${this.budgetMicros} µs`,
      );
    }
    return { decision: parseDecision(raw, ids), bundle: pool.ref, evalMicros };
  }
}

/** @internal Instances of one bundle; an instance serves one evaluation at a time. */
export class InstancePool {
  private readonly idle: LoadedPolicy[];
  private readonly waiters: Array<(p: LoadedPolicy) => void> = [];

  constructor(
    readonly ref: BundleRef,
    instances: LoadedPolicy[],
  ) {
    this.idle = [...instances];
  }

  acquire(): LoadedPolicy | Promise<LoadedPolicy> {
    return this.idle.pop() ?? new Promise((resolve) => this.waiters.push(resolve));
  }

  release(instance: LoadedPolicy): void {
    const next = this.waiters.shift();
    if (next) next(instance);
    else this.idle.push(instance);
  }
}

/** opa-wasm throws strings as well as Errors. */
function errorMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
