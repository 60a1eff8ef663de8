import { resolve } from "node:path";
import type { Command } from "commander";
import { validateCatalogDir } from "../catalog/index.js";
import { loadConfig } from "../config/index.js";
import { addCatalogClientCommands } from "./catalog-client.js";

/** Adds `sovr catalog validate` (offline) and the running server's `list` and `apply`. */
export function addCatalogCommands(catalog: Command): void {
  const defaultDir = process.env.SOVR_CATALOG_DIR ?? "catalog";
  catalog
    .command("validate")
    .argument("[dir]", "catalog directory", defaultDir)
    .description("validate catalog files offline; prints every error, one per line")
    .action(async (dir: string) => {
      // The same allow-lists the server applies, so "valid" here means the server accepts it.
      const vars = loadConfig().catalogEnv;
      const result = await validateCatalogDir(resolve(dir), { env: process.env, vars });
      for (const line of result.lines) console.log(line);
      process.exitCode = result.exitCode;
    });
  addCatalogClientCommands(catalog, defaultDir);
}
