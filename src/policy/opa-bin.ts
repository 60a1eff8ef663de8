import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the nearest directory above this module holding package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/**
 * Where the opa CLI is: `$SOVR_OPA_BIN`, else `<repo>/.tools/bin/opa` (installed by
 * scripts/install-opa.sh), else `opa` on PATH.
 */
export function resolveOpaBin(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.SOVR_OPA_BIN;
  if (fromEnv) return fromEnv;
  const local = join(repoRoot(), ".tools", "bin", "opa");
  return existsSync(local) ? local : "opa";
}
