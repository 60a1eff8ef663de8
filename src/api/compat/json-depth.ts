/**
 * Whether a parsed JSON value nests arrays and objects more than `limit` levels deep, measured
 * without recursion. `JSON.parse` is iterative in V8 and accepts any depth, but most code that
 * walks the result afterwards is not (`JSON.stringify`, canonicalisation, structured clone): a
 * 50,000-deep tool schema would overflow their stack far from the request's edge. Checking the
 * depth where the request is validated turns that into a refusal naming the field.
 */
export function jsonTooDeep(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}
