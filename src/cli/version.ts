import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../policy/index.js";

/** The `version` of the package.json this command runs from (`sovr --version`). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "unknown";
}
