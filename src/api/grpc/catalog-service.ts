/**
 * CatalogService (docs/architecture.md §7): the catalog as the router sees it — every endpoint's effective
 * data policy with source and evidence, live statistics from the router's own traffic,
 * revisions for replay, a change stream, and the admin ApplyCatalog.
 *
 * @example
 * router.service(CatalogService, new CatalogServiceImpl({ catalog, stats, db }));
 */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Kysely } from "kysely";
import type { EndpointStatsTracker, ResolvedEndpoint } from "../../catalog/index.js";
import {
  CatalogNotFoundError,
  CatalogValidationError,
  diffSnapshots,
  type EndpointFilter,
  filterEndpoints,
  getRevision,
  type LiveCatalog,
  PageTokenError,
  paginate,
  watchSnapshots,
} from "../../catalog/index.js";
import type { Database } from "../../db/index.js";
import type {
  ApplyCatalogRequest,
  CatalogService,
  GetEndpointRequest,
  GetRevisionRequest,
  ListEndpointsRequest,
} from "../../gen/sovereign/v1/catalog_pb.js";
import { isProbed, type Reachability } from "../../routing/index.js";
import {
  toProtoEndpoint,
  toProtoIssue,
  toProtoProvider,
  toProtoRevision,
  toProtoStoredRevision,
} from "./catalog-messages.js";
import { principalKey } from "./context.js";
import { InvalidFieldError, toConnectError } from "./errors.js";

export interface CatalogServiceDeps {
  catalog: LiveCatalog;
  /** Live per-endpoint statistics, fed by the router. */
  stats: Pick<EndpointStatsTracker, "get">;
  /**
   * Probed local runtimes (routing/local-prober.ts): ListEndpoints and GetEndpoint report what
   * the last probe found. Absent: nothing is probed.
   */
  prober?: { reachability(endpointId: string): Reachability; readonly enabled: boolean };
  /** Where revisions are stored (GetRevision reads any past one). */
  db: Kysely<Database>;
  /**
   * Aborted when the server begins to stop: open WatchCatalog streams then end cleanly instead
   * of holding the drain until its deadline.
   */
  shutdown?: AbortSignal;
  /** Called once per ApplyCatalog that is not validate-only (metrics). */
  onApply?: (result: "applied" | "unchanged" | "rejected") => void;
}

const REVISION = /^[0-9a-f]{64}$/;

type Impl = ServiceImpl<typeof CatalogService>;

export class CatalogServiceImpl implements Impl {
  readonly #catalog: LiveCatalog;
  readonly #stats: CatalogServiceDeps["stats"];
  readonly #prober: CatalogServiceDeps["prober"];
  readonly #db: Kysely<Database>;
  readonly #onApply: NonNullable<CatalogServiceDeps["onApply"]>;
  readonly #shutdown: AbortSignal | undefined;

  constructor(deps: CatalogServiceDeps) {
    this.#catalog = deps.catalog;
    this.#stats = deps.stats;
    this.#prober = deps.prober;
    this.#db = deps.db;
    this.#onApply = deps.onApply ?? (() => {});
    this.#shutdown = deps.shutdown;
  }

  #reach(e: ResolvedEndpoint) {
    const p = this.#prober;
    return p ? { probed: p.enabled && isProbed(e), now: p.reachability(e.id) } : undefined;
  }

  async listProviders() {
    const snapshot = this.#catalog.current();
    return { providers: snapshot.providers.map(toProtoProvider), revision: snapshot.revision };
  }

  async listEndpoints(req: ListEndpointsRequest) {
    try {
      const snapshot = this.#catalog.current();
      const filter = toFilter(req);
      if (req.pageSize < 0) throw new InvalidFieldError("page_size", "must not be negative");
      let page: ReturnType<typeof paginate<(typeof snapshot.endpoints)[number]>>;
      try {
        page = paginate(filterEndpoints(snapshot.endpoints, filter), {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          revision: snapshot.revision,
          query: filter,
        });
      } catch (err) {
        if (err instanceof PageTokenError) throw new InvalidFieldError("page_token", err.message);
        throw err;
      }
      return {
        endpoints: page.items.map((e) => toProtoEndpoint(e, this.#stats.get(e.id), this.#reach(e))),
        nextPageToken: page.nextPageToken,
        revision: snapshot.revision,
      };
    } catch (err) {
      throw toConnectError(err);
    }
  }

  async getEndpoint(req: GetEndpointRequest) {
    try {
      if (req.id === "") throw new InvalidFieldError("id", "is required");
      const snapshot = this.#catalog.current();
      const endpoint = snapshot.byId.get(req.id);
      if (endpoint === undefined) throw new CatalogNotFoundError("endpoint", req.id);
      return {
        endpoint: toProtoEndpoint(endpoint, this.#stats.get(endpoint.id), this.#reach(endpoint)),
        revision: snapshot.revision,
      };
    } catch (err) {
      throw toConnectError(err);
    }
  }

  async getRevision(req: GetRevisionRequest) {
    try {
      if (!REVISION.test(req.revision)) {
        throw new InvalidFieldError("revision", "must be a sha256 in lower-case hex (64 characters)");
      }
      const stored = await getRevision(this.#db, req.revision);
      if (stored === undefined) throw new CatalogNotFoundError("revision", req.revision);
      return { revision: toProtoStoredRevision(stored), canonicalJson: stored.canonical };
    } catch (err) {
      throw toConnectError(err);
    }
  }

  /**
   * The current revision first (every endpoint listed as added, so a client can build its view
   * from the stream alone), then one message per applied change, diffed against the previous
   * message. Ends cleanly when the client cancels or the server stops.
   */
  async *watchCatalog(_req: unknown, ctx: HandlerContext) {
    let previous: Parameters<typeof diffSnapshots>[0];
    const signal = this.#shutdown ? AbortSignal.any([ctx.signal, this.#shutdown]) : ctx.signal;
    for await (const { snapshot, createdAt } of watchSnapshots(this.#catalog, signal)) {
      const diff = diffSnapshots(previous, snapshot);
      previous = snapshot;
      yield {
        revision: toProtoRevision(snapshot, createdAt),
        addedEndpointIds: diff.added,
        removedEndpointIds: diff.removed,
        changedEndpointIds: diff.changed,
      };
    }
  }

  /**
   * Admin: the `admin` role is required by the auth interceptor's access table
   * (src/auth/access.ts) before this runs; keeping it there keeps every rule in one place.
   * Validate-only answers `valid` and every issue without changing anything; an apply
   * of an invalid catalog fails with InvalidArgument listing every issue (the running catalog
   * stays); an unchanged catalog answers `changed: false` and stores no new revision.
   */
  async applyCatalog(req: ApplyCatalogRequest, ctx: HandlerContext) {
    try {
      if (req.files.length === 0) {
        // An empty catalog would take every endpoint away: never what an admin means to send.
        throw new InvalidFieldError("files", "at least one catalog file is required");
      }
      const seen = new Set<string>();
      for (const [i, f] of req.files.entries()) {
        if (f.name === "") throw new InvalidFieldError(`files[${i}].name`, "is required");
        if (seen.has(f.name))
          throw new InvalidFieldError(`files[${i}].name`, `duplicate file name "${f.name}"`);
        seen.add(f.name);
      }
      const files = req.files.map((f) => ({ name: f.name, content: f.content }));
      if (req.validateOnly) {
        try {
          const snapshot = this.#catalog.validate(files);
          const stored = await getRevision(this.#db, snapshot.revision);
          return {
            valid: true,
            changed: snapshot.revision !== this.#catalog.current().revision,
            revision: toProtoRevision(snapshot, stored?.createdAt),
            issues: [],
          };
        } catch (err) {
          if (err instanceof CatalogValidationError) {
            return { valid: false, changed: false, issues: err.issues.map(toProtoIssue) };
          }
          throw err;
        }
      }
      const { snapshot, changed } = await this.#catalog
        .apply(files, ctx.values.get(principalKey))
        .catch((err: unknown) => {
          if (err instanceof CatalogValidationError) this.#onApply("rejected");
          throw err;
        });
      this.#onApply(changed ? "applied" : "unchanged");
      const stored = await getRevision(this.#db, snapshot.revision);
      return { valid: true, changed, revision: toProtoRevision(snapshot, stored?.createdAt), issues: [] };
    } catch (err) {
      throw toConnectError(err);
    }
  }
}

/** The request's filter; empty strings mean "any", as in proto3. */
function toFilter(req: ListEndpointsRequest): EndpointFilter {
  if (req.maxPrice !== undefined && !(Number.isFinite(req.maxPrice) && req.maxPrice >= 0)) {
    throw new InvalidFieldError("max_price", "must be a non-negative number (USD per million tokens)");
  }
  return {
    ...(req.model ? { model: req.model } : {}),
    ...(req.provider ? { provider: req.provider } : {}),
    ...(req.region ? { region: req.region } : {}),
    ...(req.zdrOnly ? { zdrOnly: true } : {}),
    ...(req.maxPrice === undefined ? {} : { maxTotalPrice: req.maxPrice }),
  };
}
