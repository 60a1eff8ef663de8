import { type CST, Parser } from "yaml";

/**
 * Bounds on catalog YAML that the `yaml` package does not enforce by itself, checked before a
 * file is composed. Catalog files are a few levels deep (provider → endpoints → endpoint →
 * pricing/filters); 64 is far above any real catalog.
 */
export const YAML_LIMITS = {
  /** Nesting of collections (maps, sequences, flow or block). */
  depth: 64,
  /**
   * Alias nodes resolved while turning a document into data (`yaml`'s `maxAliasCount`): an
   * alias bomb ("billion laughs") multiplies them. Catalogs rarely use any.
   */
  aliases: 100,
} as const;

/**
 * Where `source` first nests collections deeper than `limit`, as a 1-based line, or undefined
 * when it does not. `yaml` composes documents recursively: a deep enough input overflows the
 * stack (reported as a syntax error or thrown, depending on how much stack is left), and the
 * loader's own walks recurse too. Its CST parser keeps an explicit stack, so the depth is
 * measured on the CST, iteratively, before anything recursive runs.
 */
export function yamlTooDeep(source: string, limit: number = YAML_LIMITS.depth): number | undefined {
  const stack: [unknown, number][] = [];
  for (const token of new Parser().parse(source)) stack.push([token, 0]);
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    const t = node as CST.Token;
    if (t.type === "block-map" || t.type === "block-seq" || t.type === "flow-collection") {
      if (depth + 1 > limit) return lineOf(source, t.offset);
      for (const item of t.items) stack.push([item.key, depth + 1], [item.value, depth + 1]);
    } else if (t.type === "document") {
      stack.push([t.value, depth]);
    }
  }
  return undefined;
}

function lineOf(source: string, offset: number): number {
  let line = 1;
  for (let i = source.indexOf("\n"); i !== -1 && i < offset; i = source.indexOf("\n", i + 1)) line++;
  return line;
}
