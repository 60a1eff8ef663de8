/**
 * The arms of a tree-against-tree bench (bench/trees-ab.ts, bench/alloc-profile.ts) from its
 * arguments: `name=DIR`, a built checkout each; an empty DIR is this tree.
 */
export function treeArms(
  args: readonly string[],
  script: string,
): { name: string; repo: string | undefined }[] {
  const usage = `usage: ${script} name=DIR [name=DIR …]`;
  const arms = args.map((a) => {
    const [name, dir] = a.split("=");
    if (!name) throw new Error(usage);
    return { name, repo: dir ? dir : undefined };
  });
  if (arms.length === 0) throw new Error(usage);
  return arms;
}
