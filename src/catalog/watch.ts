/**
 * What WatchCatalog streams: the changes between catalog snapshots, and the stream of applied
 * snapshots itself as an async iterable that ends when its signal aborts.
 */
import type { LiveCatalog } from "./catalog-store.js";
import type { CatalogSnapshot, ResolvedEndpoint } from "./types.js";

export interface CatalogDiff {
  added: string[];
  removed: string[];
  /** Present in both with any difference: policy, evidence, pricing, availability, … */
  changed: string[];
}

/** Endpoint ids added, removed and changed from `before` to `after` (sorted). `before` may be absent. */
export function diffSnapshots(before: CatalogSnapshot | undefined, after: CatalogSnapshot): CatalogDiff {
  const diff: CatalogDiff = { added: [], removed: [], changed: [] };
  const old = before?.byId ?? new Map<string, ResolvedEndpoint>();
  for (const e of after.endpoints) {
    const prior = old.get(e.id);
    if (prior === undefined) diff.added.push(e.id);
    else if (JSON.stringify(prior) !== JSON.stringify(e)) diff.changed.push(e.id);
  }
  for (const id of [...old.keys()].sort()) if (!after.byId.has(id)) diff.removed.push(id);
  return diff;
}

export interface AppliedSnapshot {
  snapshot: CatalogSnapshot;
  createdAt: Date;
}

/**
 * The current snapshot, then every snapshot applied afterwards, in order. Subscribes before
 * reading the current one, so no change can fall between the two. Ends (without error) when
 * `signal` aborts, also while waiting; unsubscribes when the consumer stops.
 */
export async function* watchSnapshots(
  catalog: LiveCatalog,
  signal: AbortSignal,
): AsyncGenerator<AppliedSnapshot> {
  const queue: AppliedSnapshot[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = catalog.onChange((c) => {
    queue.push({ snapshot: c.snapshot, createdAt: c.createdAt });
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener("abort", onAbort);
  try {
    if (signal.aborted) return;
    // Read synchronously after subscribing: every later change is queued, none is lost.
    yield { snapshot: catalog.current(), createdAt: catalog.createdAt };
    while (!signal.aborted) {
      const next = queue.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    unsubscribe();
  }
}
