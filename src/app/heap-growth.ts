import { setFlagsFromString } from "node:v8";

/**
 * Sets how far V8 lets a heap grow past what survived its last full collection before it
 * collects again, for every heap of the process (the request thread's, the database thread's).
 * V8's own factor goes up to 4× for a process allowed a large heap: the request thread's
 * ~35 MiB of live objects then sit in up to ~130 MiB of old-space pages under load, most of it
 * garbage waiting for the next full collection (docs/operations.md, "Memory"). V8 reads the
 * flag each time it sets a heap's next limit, so it takes effect at the next full collection;
 * the heap's maximum (`--max-old-space-size`) is unchanged. `percent` 0, or
 * `--heap-growing-percent` given to node, leaves V8's choice alone.
 */
export function limitHeapGrowth(percent: number): void {
  if (percent <= 0) return;
  if (process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
