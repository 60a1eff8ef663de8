import type { CatalogSnapshot } from "../catalog/index.js";
import { ByokError, type ByokStore } from "./byok.js";
import { endpointOrigin, normalizeOrigin, OriginError } from "./origin.js";
import type { Principal } from "./principal.js";

/** A tenant admin asked about another tenant's keys. */
export class ByokAccessError extends Error {
  override readonly name = "ByokAccessError";
}

/** No key stored for that tenant and provider. */
export class ByokNotFoundError extends Error {
  override readonly name = "ByokNotFoundError";
  constructor(
    readonly tenant: string,
    readonly provider: string,
  ) {
    super(`no BYOK key for ${tenant}/${provider}`);
  }
}

/** A key as its tenant admin sees it: never the key, always where it may go. */
export interface ByokKeyView {
  tenant: string;
  provider: string;
  always: boolean;
  updatedAt: Date;
  /** Origins the key is approved for. */
  approvedOrigins: string[];
  /** The provider's current endpoint origins the key is NOT approved for: not used there. */
  suspendedOrigins: string[];
}

/** A key as the HTTP admin route and the CLI show it (JSON, snake_case): never the key. */
export interface ByokKeyJson {
  tenant: string;
  provider: string;
  always: boolean;
  updated_at: string;
  approved_origins: string[];
  suspended_origins: string[];
}

export function byokKeyJson(k: ByokKeyView): ByokKeyJson {
  return {
    tenant: k.tenant,
    provider: k.provider,
    always: k.always,
    updated_at: k.updatedAt.toISOString(),
    approved_origins: k.approvedOrigins,
    suspended_origins: k.suspendedOrigins,
  };
}

/** A BYOK change about to be made, as the admin trail records it (never the key). */
export interface ByokChange {
  tenant: string;
  action: "byok.set" | "byok.remove" | "byok.approve_origins";
  provider: string;
  /** byok.approve_origins: the origins approved. */
  origins?: string[];
}

/**
 * Called after a change is checked and before it is made; when it throws, nothing is changed
 * (the app appends the admin record here: no record, no change).
 */
export type ByokGate = (caller: Principal | undefined, change: ByokChange) => Promise<void>;

/**
 * The rules of BYOK administration, once, for every surface: the gRPC ByokService, the HTTP
 * route `/v1/admin/byok` and the CLI with the server stopped.
 *
 * `caller` is the authenticated principal; a principal manages its own tenant's keys only.
 * `undefined` is the local operator with the database in hand (`sovr keys byok` without
 * `SOVR_KEY`), who could write the rows anyway.
 */
export class ByokAdmin {
  constructor(
    private readonly store: ByokStore,
    private readonly catalog: { current(): CatalogSnapshot },
    private readonly gate: ByokGate = async () => {},
  ) {}

  /** The provider's endpoint origins in the current catalog, sorted. */
  providerOrigins(provider: string): string[] {
    const endpoints = this.catalog.current().endpoints.filter((e) => e.provider === provider);
    return [...new Set(endpoints.map(endpointOrigin))].sort();
  }

  /** Stores the key, approved for the provider's current origins (listed in the answer). */
  async set(
    caller: Principal | undefined,
    tenant: string,
    provider: string,
    apiKey: string,
    always: boolean,
  ): Promise<ByokKeyView> {
    this.#own(caller, tenant);
    await this.store.set(tenant, provider, apiKey, always, this.providerOrigins(provider), () =>
      this.gate(caller, { tenant, action: "byok.set", provider }),
    );
    return this.#get(tenant, provider);
  }

  async remove(caller: Principal | undefined, tenant: string, provider: string): Promise<boolean> {
    this.#own(caller, tenant);
    if ((await this.store.list(tenant, provider)).length === 0) return false;
    await this.gate(caller, { tenant, action: "byok.remove", provider });
    return this.store.remove(tenant, provider);
  }

  /** A principal's own tenant by default; the local operator sees every tenant unless it names one. */
  async list(caller: Principal | undefined, tenant?: string): Promise<ByokKeyView[]> {
    const scope = tenant || caller?.tenant;
    if (scope !== undefined) this.#own(caller, scope);
    return (await this.store.list(scope)).map((e) => this.#view(e));
  }

  /**
   * Approves `origins` (any http(s) URL or origin; normalised) or, when none are given, the
   * provider's current endpoint origins — the re-approval after a catalog moved an endpoint.
   */
  async approve(
    caller: Principal | undefined,
    tenant: string,
    provider: string,
    origins: readonly string[] = [],
  ): Promise<ByokKeyView> {
    this.#own(caller, tenant);
    let list: string[];
    try {
      list = origins.length > 0 ? origins.map(normalizeOrigin) : this.providerOrigins(provider);
    } catch (err) {
      if (err instanceof OriginError) throw new ByokError(`origin: ${err.message}`, { cause: err });
      throw err;
    }
    if ((await this.store.list(tenant, provider)).length === 0) throw new ByokNotFoundError(tenant, provider);
    await this.gate(caller, { tenant, action: "byok.approve_origins", provider, origins: list });
    const entry = await this.store.approve(tenant, provider, list);
    if (!entry) throw new ByokNotFoundError(tenant, provider);
    return this.#view(entry);
  }

  async #get(tenant: string, provider: string): Promise<ByokKeyView> {
    const [entry] = await this.store.list(tenant, provider);
    if (!entry) throw new ByokNotFoundError(tenant, provider);
    return this.#view(entry);
  }

  #view(e: Awaited<ReturnType<ByokStore["list"]>>[number]): ByokKeyView {
    const approved = new Set(e.origins);
    return {
      tenant: e.tenant,
      provider: e.provider,
      always: e.always,
      updatedAt: e.updatedAt,
      approvedOrigins: e.origins,
      suspendedOrigins: this.providerOrigins(e.provider).filter((o) => !approved.has(o)),
    };
  }

  #own(caller: Principal | undefined, tenant: string): void {
    if (caller === undefined) return;
    // The access table (src/auth/access.ts) checks this before any call arrives; repeated here
    // so a surface without that check (SOVR_AUTH=off makes every caller a client) still refuses.
    if (!caller.roles.includes("admin")) throw new ByokAccessError("BYOK keys are managed by tenant admins");
    if (caller.tenant !== tenant) {
      throw new ByokAccessError(
        `tenant: BYOK keys of tenant ${tenant} are managed by that tenant's admins only`,
      );
    }
  }
}
