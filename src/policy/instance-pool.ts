import type { LoadedPolicy } from "@open-policy-agent/opa-wasm";
import type { PolicyBundle } from "./bundle.js";
import type { KnownProblems, ReasonMemo } from "./decision.js";
import { ByIdsInput, type CandidateCatalog } from "./decision-cache.js";
import { attributeKeys, catalogProblems, ENDPOINT_IDS_METADATA } from "./endpoint-access.js";
import { ResultMemo } from "./result-memo.js";
import type { BundleRef } from "./types.js";
import type { WasmEvaluate } from "./wasm-eval.js";

/*
 * The engine's instances of one bundle (./engine.ts): the pool that hands one instance to one
 * evaluation at a time, and what each instance loads for a catalog.
 */

/** The catalog's endpoints as loaded into instances' data. */
export interface LoadedCatalog extends CandidateCatalog {
  /** `{id: endpoint, …}` as JSON, the value of `data.catalog.endpoints`. */
  endpointsJson: string;
  /** `[id, …]` in the order of `byId` as JSON, the value of `data.catalog.ids`. */
  idsJson: string;
}

export interface Instance {
  policy: LoadedPolicy;
  /** Evaluates `sovereign/route` for an input given as JSON text. */
  run: WasmEvaluate;
  /** The catalog in the instance's data, if any. */
  catalog: LoadedCatalog | undefined;
  /** The problems loaded with it (`data.catalog.problems_at` or `.problems`), if any. */
  known?: KnownProblems;
  /** A catalog that failed to load into this instance (not retried). */
  failed?: LoadedCatalog;
  /** Its data could not be restored after a failed load: every evaluation fails closed. */
  broken?: boolean;
}

/** Whether the bundle was built to read candidates through `lib.endpoints` (and leaves `data.catalog` free). */
export function takesEndpointIds(bundle: PolicyBundle): boolean {
  const marker = bundle.manifest.metadata?.sovereign_router as { endpoint_ids?: unknown } | undefined;
  return (
    marker?.endpoint_ids === ENDPOINT_IDS_METADATA.sovereign_router.endpoint_ids &&
    !Object.hasOwn(bundle.data, "catalog")
  );
}

/** @internal Instances of one bundle; an instance serves one evaluation at a time. */
export class InstancePool {
  readonly ref: BundleRef;
  readonly instances: Instance[] = [];
  private readonly idle: Instance[] = [];
  private readonly waiters: Array<(p: Instance) => void> = [];
  /** The last catalog's data document, shared by the instances that load it. */
  private data: CatalogData | undefined;
  /** How inputs go by ids, and the decision cache. */
  readonly byIds: ByIdsInput;
  /** Reason lists worked out for the last catalog's known problems (see `parseDecision`). */
  private memo: ReasonMemo | undefined;
  /** Decisions by the Wasm's result text. */
  readonly results: ResultMemo;

  constructor(
    readonly bundle: PolicyBundle,
    readonly takesIds: boolean, // inputs may carry endpoint ids, with the endpoints in data
    resultMemoSize = 256,
  ) {
    this.ref = bundle.ref;
    this.byIds = new ByIdsInput(bundle);
    this.results = new ResultMemo(resultMemoSize);
  }

  add(instance: Instance): void {
    this.instances.push(instance);
    this.idle.push(instance);
  }

  /**
   * The bundle's data plus `catalog.endpoints`, `catalog.ids` (for a bundle that names the
   * candidates by position) and, when the bundle offers them, the problems
   * (`catalog.problems_at` by position, or `catalog.problems` by id) and
   * `catalog.attribute_keys` (see {@link CATALOG_PROBLEMS_ENTRYPOINT}), as JSON bytes; built
   * once per catalog, `instance` evaluating the problems.
   */
  dataWith(catalog: LoadedCatalog, instance: Instance): CatalogData {
    if (this.data?.catalog !== catalog) {
      const known = catalogProblems([...catalog.byId.values()], instance.policy);
      const positions = this.byIds.positions;
      // By position, an endpoint the problems lack gets null: the policy then examines it.
      const problems =
        known &&
        (positions
          ? `,"problems_at":${JSON.stringify([...catalog.byId.keys()].map((id) => known[id] ?? null))}`
          : `,"problems":${JSON.stringify(known)}`);
      // The attributes' keys go with the problems they index (without problems, nothing is known).
      const keys = known && attributeKeys(instance.policy);
      const rest = JSON.stringify(this.bundle.data);
      const ids = positions ? `,"ids":${catalog.idsJson}` : "";
      const inner = `"endpoints":${catalog.endpointsJson}${ids}${problems ?? ""}${keys === undefined ? "" : `,"attribute_keys":${JSON.stringify(keys)}`}`;
      const text = `{"catalog":{${inner}}${rest === "{}" ? "}" : `,${rest.slice(1)}`}`;
      const bytes = new TextEncoder().encode(text);
      this.data = {
        catalog,
        json: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
        known,
      };
    }
    return this.data;
  }

  /** The reason memo for `known`, new when the catalog changed or it grew past 16k lists. */
  reasonMemo(known: KnownProblems): ReasonMemo {
    if (this.memo?.known !== known || this.memo.lists.size > 16_384) this.memo = { known, lists: new Map() };
    return this.memo;
  }

  acquire(): Instance | Promise<Instance> {
    return this.idle.pop() ?? new Promise((resolve) => this.waiters.push(resolve));
  }

  release(instance: Instance): void {
    const next = this.waiters.shift();
    if (next) next(instance);
    else this.idle.push(instance);
  }
}

/** What an instance loads for a catalog: its data document as JSON, and the problems in it. */
interface CatalogData {
  catalog: LoadedCatalog;
  json: ArrayBuffer;
  /** The catalog's known problems by id, if the bundle offers them. */
  known: KnownProblems | undefined;
}
