import { EventEmitter } from "node:events";
import type { Kysely } from "kysely";
import type { CatalogEnvPolicy } from "../config/index.js";
import type { Database } from "../db/index.js";
import type { Env } from "./env-interpolation.js";
import { CatalogValidationError } from "./errors.js";
import { type CatalogFile, formatPath, normalizeSource, parseCatalogFiles } from "./loader.js";
import { buildSnapshot, snapshotFromCanonical } from "./resolve.js";
import { catalogErrorMap, localProviderSchema, type ProviderSource } from "./schema.js";
import type { CatalogSnapshot } from "./types.js";

export interface StoredRevision {
  revision: string;
  canonical: string;
  providerCount: number;
  endpointCount: number;
  createdAt: Date;
}

/** Stores a revision once; returns whether it was new. Revisions are immutable. */
export async function saveRevision(db: Kysely<Database>, snapshot: CatalogSnapshot): Promise<boolean> {
  const r = await db
    .insertInto("catalog_revisions")
    .values({
      revision: snapshot.revision,
      canonical: snapshot.canonical,
      provider_count: snapshot.providers.length,
      endpoint_count: snapshot.endpoints.length,
    })
    .onConflict((oc) => oc.column("revision").doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function getRevision(
  db: Kysely<Database>,
  revision: string,
): Promise<StoredRevision | undefined> {
  const row = await db
    .selectFrom("catalog_revisions")
    .selectAll()
    .where("revision", "=", revision)
    .executeTakeFirst();
  return row
    ? {
        revision: row.revision,
        canonical: row.canonical,
        providerCount: row.provider_count,
        endpointCount: row.endpoint_count,
        createdAt: row.created_at,
      }
    : undefined;
}

/**
 * Called with a validated, stored revision before it takes effect; when it throws the running
 * catalog stays (the app appends the admin record here: no record, no change). `by` is who
 * asked, as given to {@link LiveCatalog.apply}; undefined for the router itself.
 */
export type CatalogGate = (change: {
  snapshot: CatalogSnapshot;
  previous: CatalogSnapshot | undefined;
  by: unknown;
}) => Promise<void>;

/** What an apply did: the snapshot serving after it, and whether it replaced another. */
export interface CatalogApplied {
  snapshot: CatalogSnapshot;
  changed: boolean;
}

/**
 * Where a caller's change goes when several processes serve together (cluster workers,
 * src/app/cluster): it calls {@link LiveCatalog.applyHere} in every one of them, one change at a
 * time in one order, so they end on the same revision, and resolves with this process's result.
 */
export type CatalogRelay = (files: readonly CatalogFile[], by: unknown) => Promise<CatalogApplied>;

export interface CatalogChange {
  snapshot: CatalogSnapshot;
  previous: CatalogSnapshot | undefined;
  createdAt: Date;
}

/**
 * The catalog the router uses now. `apply` validates a whole set of files, stores the revision
 * (once) and swaps the snapshot atomically; a rejected catalog changes nothing. Readers call
 * `current()` on the hot path: a field read, no I/O.
 */
export class LiveCatalog {
  #current: CatalogSnapshot | undefined;
  #createdAt = new Date(0);
  readonly #events = new EventEmitter();
  #applying: Promise<unknown> = Promise.resolve();
  /** The last applied catalog files, re-applied when the local provider changes. */
  #files: readonly CatalogFile[] | undefined;
  #local: ProviderSource | undefined;
  #gate: CatalogGate | undefined;
  #relay: CatalogRelay | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly env: Env,
    /** What `${VAR}` and `api_key_env` may name; the server always passes its configuration. */
    private readonly vars?: CatalogEnvPolicy,
  ) {
    this.#events.setMaxListeners(0);
  }

  current(): CatalogSnapshot {
    if (!this.#current) throw new Error("catalog not loaded");
    return this.#current;
  }

  /** Sets the check every change passes before it takes effect (see {@link CatalogGate}). */
  setGate(gate: CatalogGate): void {
    this.#gate = gate;
  }

  /**
   * Sets where a caller's change goes instead of applying here (see {@link CatalogRelay}); the
   * file watch and the start still apply here, each process reading the same directory.
   */
  setRelay(relay: CatalogRelay | undefined): void {
    this.#relay = relay;
  }

  get loaded(): boolean {
    return this.#current !== undefined;
  }

  get createdAt(): Date {
    return this.#createdAt;
  }

  /** Validates without applying; throws CatalogValidationError with every issue. */
  validate(files: readonly CatalogFile[]): CatalogSnapshot {
    const source = parseCatalogFiles(files, { env: this.env, vars: this.vars });
    const local = this.#local === undefined ? [] : [this.#local];
    return buildSnapshot(normalizeSource([...source.providers, ...local]), { env: this.env });
  }

  /**
   * Sets the local provider (the models directory's endpoints, catalog/local-models.ts; undefined
   * when there are none) and re-applies the last applied files with it. The local provider is
   * part of every later revision too: ApplyCatalog replaces the files, not the models. Resolves
   * to whether the catalog changed.
   */
  setLocalProvider(local: ProviderSource | undefined): Promise<boolean> {
    const run = this.#applying.then(() => {
      const parsed =
        local === undefined ? undefined : localProviderSchema.safeParse(local, { error: catalogErrorMap });
      if (parsed?.success === false) {
        throw new CatalogValidationError(
          parsed.error.issues.map((i) => ({
            file: "<models>",
            path: formatPath(i.path),
            message: i.message,
          })),
        );
      }
      const before = this.#local;
      this.#local = parsed?.data;
      // Before the first apply, the files' apply picks it up.
      if (this.#files === undefined) return false;
      // A change refused (its admin record not written, or the result invalid) leaves the
      // models as they were, so a later apply does not carry it in unrecorded.
      return this.#applyNow(this.#files).then(
        (r) => r.changed,
        (err: unknown) => {
          this.#local = before;
          throw err;
        },
      );
    });
    this.#applying = run.catch(() => {});
    return run;
  }

  /**
   * Validates, stores and activates. Returns whether the catalog changed. Applies run one at a
   * time (file watch and ApplyCatalog may race), so listeners see changes in the order they
   * took effect and each change's `previous` is the snapshot it replaced.
   */
  apply(files: readonly CatalogFile[], by?: unknown): Promise<CatalogApplied> {
    if (by !== undefined && this.#relay !== undefined) {
      // Rejected here before any other process is asked: they would all reject it alike.
      try {
        this.validate(files);
      } catch (err) {
        return Promise.reject(err);
      }
      return this.#relay(files, by);
    }
    return this.applyHere(files, by);
  }

  /** {@link apply} in this process only: what a relay calls in each process it serves. */
  applyHere(files: readonly CatalogFile[], by?: unknown): Promise<CatalogApplied> {
    const run = this.#applying.then(() => this.#applyNow(files, by));
    this.#applying = run.catch(() => {});
    return run;
  }

  async #applyNow(files: readonly CatalogFile[], by?: unknown): Promise<CatalogApplied> {
    const snapshot = this.validate(files);
    if (this.#current?.revision === snapshot.revision) {
      this.#files = files;
      return { snapshot: this.#current, changed: false };
    }
    await saveRevision(this.db, snapshot);
    await this.#gate?.({ snapshot, previous: this.#current, by });
    this.#files = files;
    const stored = await getRevision(this.db, snapshot.revision);
    const previous = this.#current;
    this.#current = snapshot;
    this.#createdAt = stored?.createdAt ?? new Date();
    this.#events.emit("change", { snapshot, previous, createdAt: this.#createdAt } satisfies CatalogChange);
    return { snapshot, changed: true };
  }

  /** A past revision rebuilt exactly from its stored canonical form (for replay). */
  async revision(revision: string): Promise<CatalogSnapshot | undefined> {
    if (this.#current?.revision === revision) return this.#current;
    const stored = await getRevision(this.db, revision);
    return stored ? snapshotFromCanonical(stored.canonical, { env: this.env }) : undefined;
  }

  onChange(listener: (change: CatalogChange) => void): () => void {
    this.#events.on("change", listener);
    return () => this.#events.off("change", listener);
  }
}

/** The `*.yaml` / `*.yml` files of a catalog directory, for {@link LiveCatalog.apply}. */
export async function readCatalogFiles(dir: string): Promise<CatalogFile[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isFile() && /\.ya?ml$/.test(d.name))
    .map((d) => d.name)
    .sort();
  return Promise.all(names.map(async (name) => ({ name, content: await readFile(join(dir, name), "utf8") })));
}
