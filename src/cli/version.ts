import { readFileSync } from "node:fs";

/**
 * The `version` of the package.json this command runs from (`sovr --version`): two folders up
 * from this file, in src/cli as in dist/cli.
 */
export function packageVersion(): string {
  const file = new URL("../../package.json", import.meta.url);
  const pkg = JSON.parse(readFileSync(file, "utf8")) as { version?: string };
  return pkg.version ?? "unknown";
}
