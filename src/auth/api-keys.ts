import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Kysely } from "kysely";
import { SerialQueue } from "../concurrency/index.js";
import { type Database, withDeadline } from "../db/index.js";
import { sha256 } from "../encoding/index.js";
import { type KeyScope, scopeFromColumns, scopeToColumns, UNSCOPED, validateScope } from "./key-scope.js";

/**
 * client routes requests; auditor reads decision records; admin is a TENANT admin (its own
 * tenant's keys and BYOK); operator runs the platform (catalog, any tenant's keys).
 */
export const ROLES = ["client", "auditor", "admin", "operator"] as const;
export type Role = (typeof ROLES)[number];

export interface ApiKeyInfo {
  keyId: string;
  tenant: string;
  roles: Role[];
  /** An auditor key that reads every tenant's records (granted only by an operator). */
  allTenants: boolean;
  description: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  /** Refused as expired from this instant on; null = never. */
  expiresAt: Date | null;
  /** A short name for people (`sovr keys list`); not a secret, not unique. */
  label: string;
  /** Models and providers the key may route to (empty lists: any). */
  scope: KeyScope;
  /** The highest role the key may grant to keys it creates; null = its own highest role. */
  maxRole: Role | null;
}

/** Keys look like `sovr_<12 hex id>_<43 base64url secret>`: the id finds the row, the secret proves it. */
const KEY_FORMAT = /^sovr_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function parseApiKey(token: string): { keyId: string; secret: string } | undefined {
  const m = KEY_FORMAT.exec(token);
  return m ? { keyId: m[1]!, secret: m[2]! } : undefined;
}

export function hashSecret(secret: string): Uint8Array {
  const h = sha256(secret);
  // A Buffer (the drivers' bytea), over the digest's own memory.
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength);
}

function toInfo(row: {
  key_id: string;
  tenant: string;
  roles: string;
  all_tenants: boolean;
  description: string;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  expires_at: Date | null;
  label: string;
  allowed_models: string;
  allowed_providers: string;
  max_role: string | null;
}): ApiKeyInfo {
  return {
    keyId: row.key_id,
    tenant: row.tenant,
    roles: row.roles.split(",").filter((r): r is Role => (ROLES as readonly string[]).includes(r)),
    allTenants: row.all_tenants,
    description: row.description,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    label: row.label,
    scope: scopeFromColumns(row.allowed_models, row.allowed_providers),
    // An unknown stored value grants nothing beyond the lowest role (fail closed).
    maxRole: row.max_role === null ? null : isRole(row.max_role) ? row.max_role : "client",
  };
}

const isRole = (r: string): r is Role => (ROLES as readonly string[]).includes(r);

/** Labels are for people: one line, printable, short. */
const LABEL = /^[^\p{Cc}]{0,200}$/u;

const TENANT = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Creates a key; returns its info and the secret token, which is never stored or shown again. */
export async function createApiKey(
  db: Kysely<Database>,
  opts: {
    tenant: string;
    roles: readonly Role[];
    allTenants?: boolean;
    description?: string;
    /** Must lie in the future (checked against `now`). */
    expiresAt?: Date;
    label?: string;
    scope?: KeyScope;
    maxRole?: Role;
    now?: Date;
  },
): Promise<{ key: ApiKeyInfo; token: string }> {
  if (!TENANT.test(opts.tenant)) throw new RangeError("tenant: must be a slug (a-z, 0-9, . _ -)");
  if (opts.roles.length === 0) throw new RangeError(`roles: at least one of ${ROLES.join(", ")}`);
  if (opts.allTenants && !opts.roles.includes("auditor"))
    throw new RangeError("all_tenants: only an auditor key reads records, so it needs the auditor role");
  const now = opts.now ?? new Date();
  if (opts.expiresAt && !(opts.expiresAt.getTime() > now.getTime()))
    throw new RangeError("expires_at: must be in the future");
  if (opts.label !== undefined && !LABEL.test(opts.label))
    throw new RangeError("label: at most 200 characters, no control characters");
  if (opts.maxRole !== undefined && !isRole(opts.maxRole))
    throw new RangeError(`max_role: must be one of ${ROLES.join(", ")}`);
  const scope = validateScope(opts.scope ?? UNSCOPED);
  const keyId = randomBytes(6).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const row = await db
    .insertInto("api_keys")
    .values({
      key_id: keyId,
      secret_hash: hashSecret(secret),
      tenant: opts.tenant,
      roles: [...new Set(opts.roles)].join(","),
      all_tenants: opts.allTenants ?? false,
      description: opts.description ?? "",
      revoked_at: null,
      last_used_at: null,
      expires_at: opts.expiresAt ?? null,
      label: opts.label ?? "",
      ...scopeToColumns(scope),
      max_role: opts.maxRole ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key: toInfo(row), token: `sovr_${keyId}_${secret}` };
}

/**
 * Revokes a key (idempotent). With `tenant`, only a key of that tenant: another tenant's key is
 * answered exactly as an unknown id (undefined), through the same queries.
 */
export async function revokeApiKey(
  db: Kysely<Database>,
  keyId: string,
  at = new Date(),
  tenant?: string,
): Promise<ApiKeyInfo | undefined> {
  let update = db
    .updateTable("api_keys")
    .set({ revoked_at: at })
    .where("key_id", "=", keyId)
    .where("revoked_at", "is", null);
  if (tenant !== undefined) update = update.where("tenant", "=", tenant);
  const row = await update.returningAll().executeTakeFirst();
  if (row) return toInfo(row);
  let select = db.selectFrom("api_keys").selectAll().where("key_id", "=", keyId);
  if (tenant !== undefined) select = select.where("tenant", "=", tenant);
  const existing = await select.executeTakeFirst();
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

interface Entry {
  hash: Uint8Array;
  info: ApiKeyInfo;
}

/** Compared against when the key id is unknown, so that path costs what a wrong secret costs. */
const DUMMY: Entry = {
  hash: hashSecret(randomBytes(32).toString("base64url")),
  info: {
    keyId: "",
    tenant: "",
    roles: [],
    allTenants: false,
    description: "",
    createdAt: new Date(0),
    revokedAt: new Date(0),
    lastUsedAt: null,
    expiresAt: null,
    label: "",
    scope: UNSCOPED,
    maxRole: null,
  },
};

/**
 * Told when a table held in memory could not be read again: in the background (`interval`), or
 * right after a change made through this process (`change`).
 */
export type ReadFailureReporter = (err: unknown, when: "interval" | "change") => void;

/** Why a token was refused: `expired` only once its secret matched, so it tells no stranger anything. */
export type KeyCheck = { key: ApiKeyInfo } | { refused: "invalid" | "expired" };

/**
 * Checks bearer tokens against the whole key table, held in memory and re-read in the
 * background every `ttlMs / 2`. The request path never asks the database about one key: an
 * unknown id is checked against a dummy hash and costs what a known id with a wrong secret
 * costs, so timing does not tell which ids exist. A revocation (on any replica) takes effect
 * within `ttlMs`: a table older than that is re-read before it answers (for every token alike),
 * and when it cannot be re-read the check fails (closed). `last_used_at` is written in the
 * background, at most once per key per minute.
 */
export class Authenticator {
  #table = new Map<string, Entry>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  /** The last read begun, until it settles. */
  #loading: Promise<void> | undefined;
  /** Reads run one after another: one begun before a change never lands after the change's own. */
  readonly #reads = new SerialQueue();
  #timer: NodeJS.Timeout | undefined;
  readonly #lastWritten = new Map<string, number>();
  #relay: (() => Promise<void>) | undefined;
  #onReadFailure: ReadFailureReporter | undefined;

  /**
   * @param waitMs how long a check waits for a stale table to be re-read before it fails as
   *   unavailable (a wedged database must not hold every caller; SOVR_STORAGE_TIMEOUT_MS).
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs = 2000,
    private readonly now: () => number = Date.now,
    private readonly waitMs = Number.POSITIVE_INFINITY,
  ) {}

  /** Loads the key table and keeps re-reading it in the background until {@link stop}. */
  async start(): Promise<void> {
    await this.refresh();
    this.#timer ??= setInterval(() => {
      if (!this.#loading) this.refresh().catch((err: unknown) => this.#onReadFailure?.(err, "interval"));
    }, this.ttlMs / 2);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Sets who else is told when a key is created or revoked here (the other cluster workers,
   * src/app/cluster), so they read the table again at once instead of within `ttlMs`.
   */
  setRelay(relay: (() => Promise<void>) | undefined): void {
    this.#relay = relay;
  }

  /** Who is told when the key table could not be read again (a log line and a counter, src/app). */
  reportReadFailures(report: ReadFailureReporter | undefined): void {
    this.#onReadFailure = report;
  }

  /**
   * A key was created or revoked through this process: re-read here, and tell the relay. Never
   * fails: the change is stored, and a caller told otherwise would lose a created key's secret
   * or retry a revocation that happened. When the table cannot be read again here, that is
   * reported and the relay is still told; the next background read (every `ttlMs / 2`) takes
   * the change, and a check on a table older than `ttlMs` reads it first or fails closed, so a
   * revoked key is refused within `ttlMs` either way.
   */
  async keysChanged(): Promise<void> {
    await this.refresh().catch((err: unknown) => this.#onReadFailure?.(err, "change"));
    await this.#relay?.();
  }

  /**
   * Re-reads the key table (after a key is created or revoked through this process). The read
   * starts after any read in flight, which may have begun before the change.
   */
  refresh(): Promise<void> {
    const load: Promise<void> = this.#reads
      .run(async () => {
        const startedAt = this.now();
        const rows = await this.db.selectFrom("api_keys").selectAll().execute();
        this.#table = new Map(rows.map((r) => [r.key_id, { hash: r.secret_hash, info: toInfo(r) }]));
        this.#loadedAt = startedAt;
      })
      .finally(() => {
        if (this.#loading === load) this.#loading = undefined;
      });
    this.#loading = load;
    return load;
  }

  /** The key's info, or undefined when the token is malformed, unknown, wrong, revoked or expired. */
  async authenticate(token: string): Promise<ApiKeyInfo | undefined> {
    const checked = await this.verify(token);
    return "key" in checked ? checked.key : undefined;
  }

  /**
   * The key, or why it is refused. Expiry is compared with the clock at each check, not when
   * the table was read, so a key stops working at its expiry on every replica, between re-reads.
   */
  async verify(token: string): Promise<KeyCheck> {
    const parsed = parseApiKey(token);
    if (!parsed) return { refused: "invalid" };
    // A stale table (no background read lately) is re-read first, whatever the token's id.
    // A read in flight is shared; should it have begun too long ago, one more starts now.
    const stale = () => this.now() - this.#loadedAt > this.ttlMs;
    if (stale()) await this.#bounded(this.#loading ?? this.refresh());
    if (stale()) await this.#bounded(this.refresh());
    const entry = this.#table.get(parsed.keyId);
    const { hash, info } = entry ?? DUMMY;
    const given = hashSecret(parsed.secret);
    const match = given.length === hash.length && timingSafeEqual(given, hash);
    if (!entry || !match || info.revokedAt) return { refused: "invalid" };
    const now = this.now();
    if (info.expiresAt && info.expiresAt.getTime() <= now) return { refused: "expired" };
    this.#touch(parsed.keyId, now);
    return { key: info };
  }

  #bounded(read: Promise<void>): Promise<void> {
    return Number.isFinite(this.waitMs) ? withDeadline(read, this.waitMs, "API key table") : read;
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
