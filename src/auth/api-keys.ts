import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";

export const ROLES = ["client", "auditor", "admin"] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKeyInfo {
  keyId: string;
  tenant: string;
  roles: Role[];
  description: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** Keys look like `sovr_<12 hex id>_<43 base64url secret>`: the id finds the row, the secret proves it. */
const KEY_FORMAT = /^sovr_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function parseApiKey(token: string): { keyId: string; secret: string } | undefined {
  const m = KEY_FORMAT.exec(token);
  return m ? { keyId: m[1]!, secret: m[2]! } : undefined;
}

export function hashSecret(secret: string): Uint8Array {
  return createHash("sha256").update(secret).digest();
}

function toInfo(row: {
  key_id: string;
  tenant: string;
  roles: string;
  description: string;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
}): ApiKeyInfo {
  return {
    keyId: row.key_id,
    tenant: row.tenant,
    roles: row.roles.split(",").filter((r): r is Role => (ROLES as readonly string[]).includes(r)),
    description: row.description,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

const TENANT = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Creates a key; returns its info and the secret token, which is never stored or shown again. */
export async function createApiKey(
  db: Kysely<Database>,
  opts: { tenant: string; roles: readonly Role[]; description?: string },
): Promise<{ key: ApiKeyInfo; token: string }> {
  if (!TENANT.test(opts.tenant)) throw new RangeError("tenant: must be a slug (a-z, 0-9, . _ -)");
  if (opts.roles.length === 0) throw new RangeError("roles: at least one of client, auditor, admin");
  const keyId = randomBytes(6).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const row = await db
    .insertInto("api_keys")
    .values({
      key_id: keyId,
      secret_hash: hashSecret(secret),
      tenant: opts.tenant,
      roles: [...new Set(opts.roles)].join(","),
      description: opts.description ?? "",
      revoked_at: null,
      last_used_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key: toInfo(row), token: `sovr_${keyId}_${secret}` };
}

export async function revokeApiKey(
  db: Kysely<Database>,
  keyId: string,
  at = new Date(),
): Promise<ApiKeyInfo | undefined> {
  const row = await db
    .updateTable("api_keys")
    .set({ revoked_at: at })
    .where("key_id", "=", keyId)
    .where("revoked_at", "is", null)
    .returningAll()
    .executeTakeFirst();
  if (row) return toInfo(row);
  const existing = await db.selectFrom("api_keys").selectAll().where("key_id", "=", keyId).executeTakeFirst();
  return existing ? toInfo(existing) : undefined;
}

export async function listApiKeys(db: Kysely<Database>, tenant?: string): Promise<ApiKeyInfo[]> {
  let q = db.selectFrom("api_keys").selectAll().orderBy("created_at").orderBy("key_id");
  if (tenant) q = q.where("tenant", "=", tenant);
  return (await q.execute()).map(toInfo);
}

export async function countApiKeys(db: Kysely<Database>): Promise<number> {
  const r = await db
    .selectFrom("api_keys")
    .select((eb) => eb.fn.countAll().as("n"))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

interface Cached {
  hash: Uint8Array;
  info: ApiKeyInfo;
  until: number;
}

/**
 * Checks bearer tokens. Looked-up keys are cached for `ttlMs` so the request path does no
 * database round trip per call; a revocation (on any replica) takes effect within that time.
 * `last_used_at` is written in the background, at most once per key per minute.
 */
export class Authenticator {
  readonly #cache = new Map<string, Cached>();
  readonly #lastWritten = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key's info, or undefined when the token is malformed, unknown, wrong or revoked. */
  async authenticate(token: string): Promise<ApiKeyInfo | undefined> {
    const parsed = parseApiKey(token);
    if (!parsed) return undefined;
    const now = this.now();
    let entry = this.#cache.get(parsed.keyId);
    if (!entry || entry.until < now) {
      const row = await this.db
        .selectFrom("api_keys")
        .selectAll()
        .where("key_id", "=", parsed.keyId)
        .executeTakeFirst();
      if (!row) {
        this.#cache.delete(parsed.keyId);
        return undefined;
      }
      entry = { hash: row.secret_hash, info: toInfo(row), until: now + this.ttlMs };
      this.#cache.set(parsed.keyId, entry);
    }
    const given = hashSecret(parsed.secret);
    if (given.length !== entry.hash.length || !timingSafeEqual(given, entry.hash)) return undefined;
    if (entry.info.revokedAt) return undefined;
    this.#touch(parsed.keyId, now);
    return entry.info;
  }

  /** Forgets cached keys (after a revocation through this process). */
  invalidate(keyId?: string): void {
    if (keyId) this.#cache.delete(keyId);
    else this.#cache.clear();
  }

  #touch(keyId: string, now: number): void {
    const last = this.#lastWritten.get(keyId) ?? 0;
    if (now - last < 60_000) return;
    this.#lastWritten.set(keyId, now);
    this.db
      .updateTable("api_keys")
      .set({ last_used_at: new Date(now) })
      .where("key_id", "=", keyId)
      .execute()
      .catch(() => this.#lastWritten.delete(keyId));
  }
}
