import { readFile } from "node:fs/promises";

/**
 * Summarises a V8 sampling heap profile (`HeapProfiler.stopSampling`, what
 * bench/lib/alloc-sampling-hook.mjs writes): bytes allocated per function (self: where the
 * object was made) and per function of this repository with everything it called (inclusive).
 * With a profile that counts collected objects too, the total is what was allocated over the
 * window, not what stayed alive.
 */

interface AllocNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children?: AllocNode[];
}

export interface AllocRow {
  name: string;
  bytes: number;
  /** Share of all the bytes allocated, %. */
  pct: number;
}

export interface AllocSummary {
  total_bytes: number;
  top_self: AllocRow[];
  /** Functions of this repository (`dist/` or `src/` under `repo`) with what they called. */
  top_inclusive: AllocRow[];
}

function label(frame: AllocNode["callFrame"], repo: string): { name: string; own: boolean } {
  const u = frame.url.replace(/^file:\/\//, "");
  const own = u.startsWith(`${repo}/`) && !u.includes("/node_modules/");
  const nm = u.lastIndexOf("/node_modules/");
  const where = own
    ? u.slice(repo.length + 1)
    : nm >= 0
      ? u.slice(nm + "/node_modules/".length)
      : u || "(native)";
  return { name: `${frame.functionName || "(anonymous)"} ${where}:${frame.lineNumber + 1}`, own };
}

export function summariseAllocations(head: AllocNode, repo: string, top = 25): AllocSummary {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const onStack = new Map<string, number>();
  let total = 0;
  // Depth-first with an explicit stack: profiles are deeper than the call stack allows.
  const stack: { node: AllocNode; enter: boolean; name?: string }[] = [{ node: head, enter: true }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (!item.enter) {
      const n = onStack.get(item.name!)! - 1;
      if (n === 0) onStack.delete(item.name!);
      else onStack.set(item.name!, n);
      continue;
    }
    const { name, own } = label(item.node.callFrame, repo);
    const size = item.node.selfSize;
    total += size;
    self.set(name, (self.get(name) ?? 0) + size);
    if (own) {
      onStack.set(name, (onStack.get(name) ?? 0) + 1);
      stack.push({ node: item.node, enter: false, name });
    }
    // Every repository function on the stack (once each, however often it recurses) gets it.
    if (size > 0) for (const k of onStack.keys()) inclusive.set(k, (inclusive.get(k) ?? 0) + size);
    for (const c of item.node.children ?? []) stack.push({ node: c, enter: true });
  }
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, bytes]) => ({ name, bytes, pct: total ? Math.round((bytes / total) * 1000) / 10 : 0 }));
  return { total_bytes: total, top_self: rows(self), top_inclusive: rows(inclusive) };
}

export async function readAllocationProfile(path: string): Promise<AllocNode> {
  return (JSON.parse(await readFile(path, "utf8")) as { head: AllocNode }).head;
}
