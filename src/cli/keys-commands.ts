import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import type { ApiKeyInfo, Role } from "../auth/index.js";
import { type ApiKey, KeyService, Role as RoleEnum } from "../gen/sovereign/v1/keys_pb.js";
import { serverClient } from "./connect-client.js";
import { parseExpiry, parseList, parseRole, ROLE_ENUM, ROLES } from "./key-flags.js";

/** KeyService's enum value → the role: ROLE_ENUM read backwards. */
const ROLE_NAME: Partial<Record<RoleEnum, Role>> = Object.fromEntries(ROLES.map((r) => [ROLE_ENUM[r], r]));

export interface KeyRow {
  keyId: string;
  tenant: string;
  roles: string[];
  allTenants: boolean;
  description: string;
  revoked: boolean;
  lastUsed: string;
  /** ISO instant, or null: never expires. */
  expiresAt: string | null;
  label: string;
  allowedModels: string[];
  allowedProviders: string[];
  maxRole: string | null;
}

export function fromInfo(k: ApiKeyInfo): KeyRow {
  return {
    keyId: k.keyId,
    tenant: k.tenant,
    roles: k.roles,
    allTenants: k.allTenants,
    description: k.description,
    revoked: k.revokedAt !== null,
    lastUsed: k.lastUsedAt?.toISOString() ?? "never",
    expiresAt: k.expiresAt?.toISOString() ?? null,
    label: k.label,
    allowedModels: [...k.scope.models],
    allowedProviders: [...k.scope.providers],
    maxRole: k.maxRole,
  };
}

function fromMessage(k: ApiKey): KeyRow {
  return {
    keyId: k.keyId,
    tenant: k.tenant,
    roles: k.roles.map((r) => ROLE_NAME[r] ?? "?"),
    allTenants: k.allTenants,
    description: k.description,
    revoked: k.revokedAt !== undefined,
    lastUsed: k.lastUsedAt ? new Date(Number(k.lastUsedAt.seconds) * 1000).toISOString() : "never",
    expiresAt: k.expiresAt ? timestampDate(k.expiresAt).toISOString() : null,
    label: k.label,
    allowedModels: [...k.allowedModels],
    allowedProviders: [...k.allowedProviders],
    maxRole: ROLE_NAME[k.maxRole] ?? null,
  };
}

function status(r: KeyRow, now = Date.now()): string {
  if (r.revoked) return "revoked";
  return r.expiresAt !== null && Date.parse(r.expiresAt) <= now ? "expired" : "active";
}

function scopeText(r: KeyRow): string {
  const parts = [
    r.allowedModels.length > 0 ? `models=${r.allowedModels.join(",")}` : "",
    r.allowedProviders.length > 0 ? `providers=${r.allowedProviders.join(",")}` : "",
    r.maxRole ? `max-role=${r.maxRole}` : "",
  ].filter((p) => p !== "");
  return parts.length > 0 ? parts.join(" ") : "-";
}

/** A key as `keys list --json` prints it (snake_case, like the other lists' JSON lines; never the secret). */
function keyJson(r: KeyRow) {
  return {
    key_id: r.keyId,
    tenant: r.tenant,
    roles: r.roles,
    all_tenants: r.allTenants,
    description: r.description,
    label: r.label,
    status: status(r),
    expires_at: r.expiresAt,
    allowed_models: r.allowedModels,
    allowed_providers: r.allowedProviders,
    max_role: r.maxRole,
    revoked: r.revoked,
    last_used: r.lastUsed === "never" ? null : r.lastUsed,
  };
}

function table(rows: KeyRow[]): string {
  const head = [
    "KEY ID",
    "TENANT",
    "ROLES",
    "STATUS",
    "EXPIRES",
    "LAST USED",
    "LABEL",
    "SCOPE",
    "DESCRIPTION",
  ];
  const body = rows.map((r) => [
    r.keyId,
    r.tenant,
    r.allTenants ? `${r.roles.join(",")}+all-tenants` : r.roles.join(","),
    status(r),
    r.expiresAt ?? "never",
    r.lastUsed,
    r.label || "-",
    scopeText(r),
    r.description,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body]
    .map((cols) =>
      cols
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/**
 * With `SOVR_KEY` set, the command goes through a running server's KeyService (a tenant admin
 * for its own tenant, an operator for any). Without one it opens the database directly
 * (keys-local.ts, loaded only then).
 */
function parseRoles(values: string[]): Role[] {
  const roles = values.flatMap((v) => v.split(",")).map((v) => v.trim());
  for (const r of roles) {
    if (!(ROLES as readonly string[]).includes(r))
      throw new Error(`--role: ${r} is not one of ${ROLES.join(", ")}`);
  }
  return roles as Role[];
}

interface CreateOptions {
  tenant: string;
  role: string[];
  allTenants?: boolean;
  description: string;
  label?: string;
  expiresIn?: string;
  expiresAt?: string;
  models?: string[];
  providers?: string[];
  maxRole?: string;
}

export function addKeysCommands(keys: Command): void {
  keys
    .command("create")
    .description(
      "create an API key and print it once (via the server with SOVR_KEY, else directly: server stopped)",
    )
    .requiredOption("--tenant <tenant>", "tenant the key acts for")
    .requiredOption(
      "--role <role...>",
      "client, auditor, admin (tenant admin) and/or operator (platform operator)",
    )
    .option("--all-tenants", "an auditor key that reads every tenant's records (operators grant it)")
    .option("--description <text>", "what the key is for", "")
    .option("--label <text>", "a short name for people (shown by keys list)")
    .option("--expires-in <duration>", "the key stops working after this long: 90m, 12h, 30d, 8w")
    .option("--expires-at <instant>", "the key stops working at this ISO 8601 instant (with offset)")
    .option("--models <list...>", "model ids or globs the key may use, comma-separated (openai/*)")
    .option("--providers <list...>", "provider slugs the key's requests may go to, comma-separated")
    .option("--max-role <role>", "the highest role this key may grant to keys it creates")
    .action(async (o: CreateOptions) => {
      const roles = parseRoles(o.role);
      const allTenants = o.allTenants ?? false;
      const expiresAt = parseExpiry(o);
      const label = o.label ?? "";
      const scope = { models: parseList(o.models), providers: parseList(o.providers) };
      const maxRole = parseRole("--max-role", o.maxRole);
      let token: string;
      let row: KeyRow;
      if (process.env.SOVR_KEY) {
        const res = await serverClient(KeyService).createKey({
          tenant: o.tenant,
          roles: roles.map((r) => ROLE_ENUM[r]),
          allTenants,
          description: o.description,
          label,
          allowedModels: scope.models,
          allowedProviders: scope.providers,
          maxRole: maxRole ? ROLE_ENUM[maxRole] : RoleEnum.UNSPECIFIED,
          ...(expiresAt ? { expiresAt: timestampFromDate(expiresAt) } : {}),
        });
        token = res.secret;
        row = fromMessage(res.key!);
      } else {
        const created = await (await import("./keys-local.js")).createKeyLocally(o.tenant, {
          roles,
          allTenants,
          description: o.description,
          label,
          scope,
          ...(maxRole ? { maxRole } : {}),
          ...(expiresAt ? { expiresAt } : {}),
        });
        token = created.token;
        row = created.row;
      }
      process.stderr.write(
        `created key ${row.keyId} for tenant ${row.tenant} (${row.roles.join(", ")}${row.allTenants ? "; all tenants" : ""}${row.expiresAt ? `; expires ${row.expiresAt}` : ""}); it is shown only now:\n`,
      );
      console.log(token);
    });
  keys
    .command("revoke")
    .argument("<key-id>", "the key's id (sovr_<id>_…)")
    .description("revoke an API key; it stops working within seconds on every replica")
    .action(async (keyId: string) => {
      const row = process.env.SOVR_KEY
        ? fromMessage((await serverClient(KeyService).revokeKey({ keyId })).key!)
        : await (await import("./keys-local.js")).revokeKeyLocally(keyId);
      console.log(`revoked ${row.keyId} (tenant ${row.tenant})`);
    });
  keys
    .command("list")
    .option("--tenant <tenant>", "only this tenant's keys")
    .option("--json", "one JSON object per key per line, with its status (never the secret)")
    .description("list API keys (never their secrets)")
    .action(async (o: { tenant?: string; json?: boolean }) => {
      const rows = process.env.SOVR_KEY
        ? (await serverClient(KeyService).listKeys({ tenant: o.tenant ?? "" })).keys.map(fromMessage)
        : await (await import("./keys-local.js")).listKeysLocally(o.tenant);
      if (o.json) for (const r of rows) console.log(JSON.stringify(keyJson(r)));
      else console.log(table(rows));
    });
}
