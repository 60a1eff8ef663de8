import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { loadConfig } from "../config/config.js";
import { openDatabase } from "../db/index.js";
import { ByokStore, MasterKey } from "../routing/byok.js";
import { DEFAULT_SOVR_URL } from "./connect-client.js";

/**
 * `sovr keys byok set|remove|list`: tenants' own provider keys (BYOK, DESIGN §6).
 *
 * With `SOVR_KEY` set (the tenant admin key of `--tenant`) the command is a client of the
 * running server: it calls the HTTP admin route `PUT|DELETE|GET /v1/admin/byok/{tenant}/
 * {provider}` on `SOVR_URL`, and the server encrypts with its own `SOVR_MASTER_KEY`. Without `SOVR_KEY` it opens the database
 * directly and encrypts with the local `SOVR_MASTER_KEY` — only with the server stopped
 * (embedded PGlite admits one process). The key is read from stdin or `--key-file`, never from
 * the command line (which other users can see in `ps`), and never printed.
 */
export function addByokCommands(keys: Command): void {
  const byok = keys.command("byok").description("tenants' own provider keys (BYOK), stored encrypted");
  byok
    .command("set")
    .description("store a tenant's key for a provider; the key is read from stdin or --key-file")
    .requiredOption("--tenant <tenant>", "tenant the key belongs to")
    .requiredOption("--provider <provider>", "provider slug, as in the catalog")
    .option("--always", "always use this key: never fall back to the shared key for this provider", false)
    .option("--key-file <file>", "read the key from this file instead of stdin")
    .action(async (o: { tenant: string; provider: string; always: boolean; keyFile?: string }) => {
      const key = (o.keyFile ? readFileSync(o.keyFile, "utf8") : await readStdin()).trim();
      if (!key) throw new Error("no key given (stdin or --key-file)");
      if (process.env.SOVR_KEY) {
        await admin("PUT", `/${enc(o.tenant)}/${enc(o.provider)}`, { key, always: o.always });
      } else {
        await withStore((s) => s.set(o.tenant, o.provider, key, o.always));
      }
      console.log(
        `stored ${o.tenant}/${o.provider} key${o.always ? " (always used; no shared-key fallback)" : ""}`,
      );
    });
  byok
    .command("remove")
    .description("delete a tenant's key for a provider")
    .requiredOption("--tenant <tenant>", "tenant")
    .requiredOption("--provider <provider>", "provider slug")
    .action(async (o: { tenant: string; provider: string }) => {
      const removed = process.env.SOVR_KEY
        ? ((await admin("DELETE", `/${enc(o.tenant)}/${enc(o.provider)}`)) as { deleted: boolean }).deleted
        : await withStore((s) => s.remove(o.tenant, o.provider));
      console.log(removed ? `removed ${o.tenant}/${o.provider}` : `no key for ${o.tenant}/${o.provider}`);
      if (!removed) process.exitCode = 1;
    });
  byok
    .command("list")
    .description("list stored keys (tenant, provider, always) — never the keys themselves")
    .option("--tenant <tenant>", "only this tenant")
    .action(async (o: { tenant?: string }) => {
      const rows = process.env.SOVR_KEY
        ? (
            (await admin("GET", o.tenant ? `/${enc(o.tenant)}` : "")) as {
              data: { tenant: string; provider: string; always: boolean; updated_at: string }[];
            }
          ).data
        : (await withStore((s) => s.list(o.tenant))).map((r) => ({
            ...r,
            updated_at: r.updatedAt.toISOString(),
          }));
      for (const r of rows)
        console.log(
          `${r.tenant}\t${r.provider}\t${r.always ? "always" : "fallback-to-shared"}\t${r.updated_at}`,
        );
    });
}

const enc = encodeURIComponent;

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const base = (process.env.SOVR_URL ?? DEFAULT_SOVR_URL).replace(/\/$/, "");
  const res = await fetch(`${base}/v1/admin/byok${path}`, {
    method,
    headers: { authorization: `Bearer ${process.env.SOVR_KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok && res.status !== 404)
    throw new Error(`server answered ${res.status}: ${json.error?.message ?? res.statusText}`);
  return json;
}

async function withStore<T>(fn: (s: ByokStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const h = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await fn(new ByokStore(h.db, MasterKey.fromConfig(config.byok)));
  } finally {
    await h.close();
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("key (input is read until end of file): ");
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("utf8");
}
