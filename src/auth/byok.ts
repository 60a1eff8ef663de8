import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Kysely, Transaction } from "kysely";
import type { ByokKeysTable, Database } from "../db/index.js";

/**
 * Bring-your-own-key (docs/architecture.md §6, OpenRouter's BYOK): a tenant's own credential for a provider,
 * tried before the shared key; with `always`, the shared key is never used for that provider.
 *
 * Keys are stored encrypted with AES-256-GCM under a 32-byte master key, with the tenant, the
 * provider and the approved origins as additional authenticated data, so a row copied to
 * another tenant or provider does not decrypt, and neither does a row whose approved origins
 * were edited in the database. Plaintext keys live only in this process's memory; they are
 * never logged, recorded or returned by any API.
 *
 * Origins (issue 11): a key is sent only to the endpoint origins (scheme://host:port) it was
 * approved for. Setting a key approves the provider's origins of that moment; a catalog change
 * that moves an endpoint elsewhere suspends the key there until a tenant admin approves again.
 */
type ByokDb = Kysely<Database> | Transaction<Database>;

/** What the router needs for one provider of a tenant. */
export interface TenantKey {
  /** Undefined when the stored key cannot be decrypted (wrong or missing master key). */
  apiKey: string | undefined;
  always: boolean;
  /** The normalised origins (src/auth/origin.ts) the key may be sent to; nowhere else. */
  origins: ReadonlySet<string>;
}

/** A stored key as an admin may see it: never the key itself. */
export interface ByokEntry {
  tenant: string;
  provider: string;
  always: boolean;
  updatedAt: Date;
  /** Approved origins, sorted. */
  origins: string[];
}

/** At most this many approved origins per key: a list, not a wildcard by volume. */
export const MAX_ORIGINS = 64;

export class ByokError extends Error {
  override readonly name = "ByokError";
}

/** The 32-byte master key, with a short id (sha256 prefix) naming it in each row. */
export class MasterKey {
  readonly id: string;

  private constructor(readonly bytes: Buffer) {
    this.id = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  }

  /** From base64 or hex text (64 hex digits / 44 base64 characters). */
  static parse(text: string): MasterKey {
    const t = text.trim();
    const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
    if (bytes.length !== 32) throw new ByokError("master key must be 32 bytes, as 64 hex digits or base64");
    return new MasterKey(bytes);
  }

  /** From `SOVR_MASTER_KEY` (text) or `SOVR_MASTER_KEY_FILE` (a file holding the text). */
  static fromConfig(c: { masterKey?: string; masterKeyFile?: string }): MasterKey | undefined {
    if (c.masterKey) return MasterKey.parse(c.masterKey);
    if (c.masterKeyFile) return MasterKey.parse(readFileSync(c.masterKeyFile, "utf8"));
    return undefined;
  }

  static generate(): string {
    return randomBytes(32).toString("base64");
  }
}

/**
 * Associated data: v1 (tenant, provider) for rows from before origins; v2 adds the approved
 * origins (sorted, normalised; an origin holds no newline), so they cannot be edited or moved.
 */
const aad = (tenant: string, provider: string, origins?: readonly string[]) =>
  Buffer.from(
    origins === undefined
      ? `sovr-byok:v1\n${tenant}\n${provider}`
      : `sovr-byok:v2\n${tenant}\n${provider}\n${origins.join("\n")}`,
    "utf8",
  );

export function encryptKey(
  master: MasterKey,
  tenant: string,
  provider: string,
  apiKey: string,
  origins?: readonly string[],
) {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", master.bytes, nonce);
  cipher.setAAD(aad(tenant, provider, origins));
  const ciphertext = Buffer.concat([cipher.update(apiKey, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return { ciphertext, nonce };
}

export function decryptKey(
  master: MasterKey,
  tenant: string,
  provider: string,
  row: { ciphertext: Uint8Array; nonce: Uint8Array },
  origins?: readonly string[],
): string {
  const data = Buffer.from(row.ciphertext);
  if (data.length < 16) throw new ByokError("stored key is truncated");
  const decipher = createDecipheriv("aes-256-gcm", master.bytes, Buffer.from(row.nonce));
  decipher.setAAD(aad(tenant, provider, origins));
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString(
    "utf8",
  );
}

const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The approved origins of a row, or undefined for a v1 row (approved for none). */
function storedOrigins(row: { origins: string | null }): string[] | undefined {
  if (row.origins === null) return undefined;
  const parsed: unknown = JSON.parse(row.origins);
  if (!Array.isArray(parsed) || !parsed.every((o) => typeof o === "string"))
    throw new ByokError("stored origins are malformed");
  return parsed;
}

function originList(origins: Iterable<string>): string[] {
  const list = [...new Set(origins)].sort();
  if (list.length > MAX_ORIGINS) throw new ByokError(`at most ${MAX_ORIGINS} origins per key`);
  for (const o of list) if (/[\r\n]/.test(o)) throw new ByokError("an origin holds no line break");
  return list;
}

/**
 * Repository and per-tenant cache of BYOK keys. Replicas sharing a database see a change within
 * `ttlMs`; the replica that made it sees it at once.
 */
export class ByokStore {
  readonly #cache = new Map<string, { at: number; keys: Promise<ReadonlyMap<string, TenantKey>> }>();
  #relay: ((tenant: string) => Promise<void>) | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly master: MasterKey | undefined,
    private readonly opts: {
      ttlMs?: number;
      now?: () => number;
      onDecryptError?: (tenant: string, provider: string) => void;
    } = {},
  ) {}

  #table(db: ByokDb = this.db) {
    return db.withTables<{ byok_keys: ByokKeysTable }>();
  }

  #master(): MasterKey {
    if (!this.master)
      throw new ByokError("BYOK needs a master key: set SOVR_MASTER_KEY or SOVR_MASTER_KEY_FILE");
    return this.master;
  }

  /**
   * Stores (or replaces) a tenant's key for a provider, approved for exactly `origins`
   * (normalised origins; the caller passes the provider's current ones). A replaced key's
   * earlier approvals are dropped: a new key starts from what the tenant sees now.
   */
  async set(
    tenant: string,
    provider: string,
    apiKey: string,
    always: boolean,
    origins: readonly string[] = [],
    /** Runs once the key is checked and encrypted, before it is written; a throw writes nothing. */
    beforeWrite: () => Promise<void> = async () => {},
  ): Promise<void> {
    const master = this.#master();
    if (!SLUG.test(tenant)) throw new ByokError("tenant must be a slug");
    if (!SLUG.test(provider)) throw new ByokError("provider must be a provider slug");
    if (apiKey.length === 0 || apiKey.length > 4096 || /[\r\n]/.test(apiKey)) {
      throw new ByokError("key must be 1 to 4096 characters on one line");
    }
    const approved = originList(origins);
    const { ciphertext, nonce } = encryptKey(master, tenant, provider, apiKey, approved);
    await beforeWrite();
    const row = {
      tenant,
      provider,
      ciphertext,
      nonce,
      master_key_id: master.id,
      always,
      updated_at: new Date(),
      origins: JSON.stringify(approved),
    };
    await this.#table()
      .insertInto("byok_keys")
      .values(row)
      .onConflict((oc) =>
        oc.columns(["tenant", "provider"]).doUpdateSet({
          ciphertext,
          nonce,
          master_key_id: row.master_key_id,
          always,
          updated_at: row.updated_at,
          origins: row.origins,
        }),
      )
      .execute();
    await this.#changed(tenant);
  }

  /**
   * Adds `origins` to the key's approved origins: decrypts the key and encrypts it again with
   * the new list in its associated data, in one transaction. Undefined when there is no key.
   */
  async approve(
    tenant: string,
    provider: string,
    origins: readonly string[],
  ): Promise<ByokEntry | undefined> {
    const master = this.#master();
    const entry = await this.db.transaction().execute(async (tx) => {
      const r = await this.#table(tx)
        .selectFrom("byok_keys")
        .selectAll()
        .where("tenant", "=", tenant)
        .where("provider", "=", provider)
        .forUpdate()
        .executeTakeFirst();
      if (!r) return undefined;
      const before = storedOrigins(r);
      let apiKey: string;
      try {
        apiKey = decryptKey(master, tenant, provider, r, before);
      } catch (cause) {
        throw new ByokError("the stored key cannot be decrypted with this master key; set it again", {
          cause,
        });
      }
      const approved = originList([...(before ?? []), ...origins]);
      const { ciphertext, nonce } = encryptKey(master, tenant, provider, apiKey, approved);
      const updatedAt = new Date();
      await this.#table(tx)
        .updateTable("byok_keys")
        .set({
          ciphertext,
          nonce,
          master_key_id: master.id,
          origins: JSON.stringify(approved),
          updated_at: updatedAt,
        })
        .where("tenant", "=", tenant)
        .where("provider", "=", provider)
        .execute();
      return { tenant, provider, always: r.always, updatedAt, origins: approved };
    });
    await this.#changed(tenant);
    return entry;
  }

  async remove(tenant: string, provider: string): Promise<boolean> {
    const r = await this.#table()
      .deleteFrom("byok_keys")
      .where("tenant", "=", tenant)
      .where("provider", "=", provider)
      .executeTakeFirst();
    await this.#changed(tenant);
    return Number(r.numDeletedRows) > 0;
  }

  async list(tenant?: string, provider?: string): Promise<ByokEntry[]> {
    let q = this.#table()
      .selectFrom("byok_keys")
      .select(["tenant", "provider", "always", "updated_at", "origins"]);
    if (tenant) q = q.where("tenant", "=", tenant);
    if (provider) q = q.where("provider", "=", provider);
    const rows = await q.orderBy("tenant").orderBy("provider").execute();
    return rows.map((r) => ({
      tenant: r.tenant,
      provider: r.provider,
      always: r.always,
      updatedAt: r.updated_at,
      origins: storedOrigins(r) ?? [],
    }));
  }

  /**
   * Sets who else is told when a tenant's keys change here (the other cluster workers,
   * src/app/cluster), so they read them again at once instead of within `ttlMs`.
   */
  setRelay(relay: ((tenant: string) => Promise<void>) | undefined): void {
    this.#relay = relay;
  }

  /** Drops the tenant's cached keys: the next call reads them again (a relay's receiving end). */
  forget(tenant: string): void {
    this.#cache.delete(tenant);
  }

  async #changed(tenant: string): Promise<void> {
    this.#cache.delete(tenant);
    await this.#relay?.(tenant);
  }

  /** The tenant's keys by provider slug, decrypted; cached for `ttlMs` (default 5 s). */
  keysFor(tenant: string): Promise<ReadonlyMap<string, TenantKey>> {
    const now = (this.opts.now ?? Date.now)();
    const hit = this.#cache.get(tenant);
    if (hit && now - hit.at < (this.opts.ttlMs ?? 5000)) return hit.keys;
    const keys = this.#load(tenant);
    this.#cache.set(tenant, { at: now, keys });
    keys.catch(() => this.#cache.delete(tenant));
    return keys;
  }

  async #load(tenant: string): Promise<ReadonlyMap<string, TenantKey>> {
    const rows = await this.#table()
      .selectFrom("byok_keys")
      .selectAll()
      .where("tenant", "=", tenant)
      .execute();
    const out = new Map<string, TenantKey>();
    for (const r of rows) {
      let apiKey: string | undefined;
      let origins: string[] | undefined;
      try {
        origins = storedOrigins(r);
        if (this.master) apiKey = decryptKey(this.master, r.tenant, r.provider, r, origins);
      } catch {
        apiKey = undefined;
      }
      // Without a usable key, "always" still holds: the shared key stays forbidden (fail closed).
      if (apiKey === undefined) this.opts.onDecryptError?.(r.tenant, r.provider);
      // Origins count only when the key decrypted under them (the AAD vouches for the list).
      const approved = apiKey === undefined ? [] : (origins ?? []);
      out.set(r.provider, { apiKey, always: r.always, origins: new Set(approved) });
    }
    return out;
  }
}
