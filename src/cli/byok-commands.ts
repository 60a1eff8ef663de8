import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { ByokKeyJson } from "../auth/index.js";
import { DEFAULT_SOVR_URL } from "./connect-client.js";
import { httpStatusError } from "./errors.js";

/**
 * `sovr keys byok set|remove|list|approve`: tenants' own provider keys (BYOK, docs/architecture.md §6).
 *
 * With `SOVR_KEY` set (a tenant admin key) the command is a client of the running server: it
 * calls the HTTP admin route `/v1/admin/byok/{tenant}/{provider}[/approve]` on `SOVR_URL`, and
 * the server encrypts with its own `SOVR_MASTER_KEY`. Without `SOVR_KEY` it opens the database
 * directly and encrypts with the local `SOVR_MASTER_KEY` — only with the server stopped
 * (embedded PGlite admits one process); the provider's origins then come from the catalog
 * directory the server would load (byok-local.ts, loaded only then). The key is read from stdin or `--key-file`, never from the
 * command line (which other users can see in `ps`), and never printed.
 */
export function addByokCommands(keys: Command): void {
  const byok = keys.command("byok").description("tenants' own provider keys (BYOK), stored encrypted");
  byok
    .command("set")
    .description(
      "store a tenant's key for a provider, approved for the provider's current endpoint origins; " +
        "the key is read from stdin or --key-file",
    )
    .requiredOption("--tenant <tenant>", "tenant the key belongs to")
    .requiredOption("--provider <provider>", "provider slug, as in the catalog")
    .option("--always", "always use this key: never fall back to the shared key for this provider", false)
    .option("--key-file <file>", "read the key from this file instead of stdin")
    .action(async (o: { tenant: string; provider: string; always: boolean; keyFile?: string }) => {
      const key = (o.keyFile ? readFileSync(o.keyFile, "utf8") : await readStdin()).trim();
      if (!key) throw new Error("no key given (stdin or --key-file)");
      const stored = process.env.SOVR_KEY
        ? ((await admin("PUT", `/${enc(o.tenant)}/${enc(o.provider)}`, {
            key,
            always: o.always,
          })) as ByokKeyJson)
        : await (await local()).setKey(o.tenant, o.provider, key, o.always);
      console.log(
        `stored ${o.tenant}/${o.provider} key${o.always ? " (always used; no shared-key fallback)" : ""}`,
      );
      printOrigins(stored);
    });
  byok
    .command("approve")
    .description(
      "approve origins for a tenant's key: the given --origin values, or else the provider's " +
        "current endpoint origins (after a catalog change moved an endpoint)",
    )
    .requiredOption("--tenant <tenant>", "tenant")
    .requiredOption("--provider <provider>", "provider slug")
    .option("--origin <origin...>", "scheme://host[:port] to approve (repeatable)")
    .action(async (o: { tenant: string; provider: string; origin?: string[] }) => {
      const origins = o.origin ?? [];
      const approved = process.env.SOVR_KEY
        ? ((await admin("POST", `/${enc(o.tenant)}/${enc(o.provider)}/approve`, { origins })) as ByokKeyJson)
        : await (await local()).approveOrigins(o.tenant, o.provider, origins);
      console.log(`approved origins for ${o.tenant}/${o.provider}`);
      printOrigins(approved);
    });
  byok
    .command("remove")
    .description("delete a tenant's key for a provider")
    .requiredOption("--tenant <tenant>", "tenant")
    .requiredOption("--provider <provider>", "provider slug")
    .action(async (o: { tenant: string; provider: string }) => {
      const removed = process.env.SOVR_KEY
        ? ((await admin("DELETE", `/${enc(o.tenant)}/${enc(o.provider)}`)) as { deleted: boolean }).deleted
        : await (await local()).removeKey(o.tenant, o.provider);
      console.log(removed ? `removed ${o.tenant}/${o.provider}` : `no key for ${o.tenant}/${o.provider}`);
      if (!removed) process.exitCode = 1;
    });
  byok
    .command("list")
    .description("list stored keys (tenant, provider, always, origins) — never the keys themselves")
    .option("--tenant <tenant>", "only this tenant")
    .option("--json", "one JSON object per line")
    .action(async (o: { tenant?: string; json?: boolean }) => {
      const rows = process.env.SOVR_KEY
        ? ((await admin("GET", o.tenant ? `/${enc(o.tenant)}` : "")) as { data: ByokKeyJson[] }).data
        : await (await local()).listKeys(o.tenant);
      if (o.json) {
        for (const r of rows) console.log(JSON.stringify(r));
        return;
      }
      for (const r of rows)
        console.log(
          [
            r.tenant,
            r.provider,
            r.always ? "always" : "fallback-to-shared",
            r.updated_at,
            `approved=${r.approved_origins.join(",") || "-"}`,
            `suspended=${r.suspended_origins.join(",") || "-"}`,
          ].join("\t"),
        );
    });
}

const enc = encodeURIComponent;
const local = () => import("./byok-local.js");

function printOrigins(k: ByokKeyJson): void {
  console.log(`approved origins: ${k.approved_origins.join(", ") || "none"}`);
  if (k.suspended_origins.length > 0)
    console.log(`suspended (not approved, key not used there): ${k.suspended_origins.join(", ")}`);
}

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const base = (process.env.SOVR_URL ?? DEFAULT_SOVR_URL).replace(/\/$/, "");
  const res = await fetch(`${base}/v1/admin/byok${path}`, {
    method,
    headers: { authorization: `Bearer ${process.env.SOVR_KEY}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok && res.status !== 404)
    throw httpStatusError(
      res.status,
      json.error?.message ?? `HTTP ${res.status} ${res.statusText}`,
      res.headers,
    );
  return json;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("key (input is read until end of file): ");
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString("utf8");
}
