import { existsSync, readFileSync } from "node:fs";
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

/**
 * What to do when there is no opa: the install script (which pins the version), the `go
 * install` line it runs, or SOVR_OPA_BIN. The version is read from the script, so the hint
 * cannot name another one.
 */
export function opaMissingHint(tried: string): string {
  let version = "latest";
  try {
    const script = readFileSync(join(repoRoot(), "scripts", "install-opa.sh"), "utf8");
    const pinned = /OPA_VERSION:-([0-9.]+)/.exec(script)?.[1];
    if (pinned) version = `v${pinned}`;
  } catch {
    // not a checkout: the go install line still works
  }
  return [
    `opa not found (${tried}; looked at $SOVR_OPA_BIN, <repo>/.tools/bin/opa, then PATH). Get it with one of:`,
    "  bash scripts/install-opa.sh        # builds the pinned opa into .tools/bin (needs Go)",
    `  go install github.com/open-policy-agent/opa@${version}   # then put $(go env GOPATH)/bin on PATH`,
    "  or set SOVR_OPA_BIN to an opa binary",
  ].join("\n");
}
