/** One problem found in a catalog source, located as precisely as the source allows. */
export interface CatalogIssue {
  /** File name as given to the loader (relative to the catalog directory). */
  file: string;
  /** YAML path of the offending value, e.g. `endpoints[2].pricing.prompt`; "" for the whole document. */
  path: string;
  /** 1-based line of the offending node, when it can be located. */
  line?: number;
  message: string;
}

/**
 * A catalog was rejected. It carries *every* issue found across all files, because a catalog is
 * applied as a whole: one bad file rejects everything and the running catalog stays.
 */
export class CatalogValidationError extends Error {
  override readonly name = "CatalogValidationError";
  readonly issues: readonly CatalogIssue[];

  constructor(issues: readonly CatalogIssue[], options?: { cause?: unknown }) {
    const first = issues[0];
    const summary = first
      ? `${first.file}${first.line === undefined ? "" : `:${first.line}`}: ${first.path ? `${first.path}: ` : ""}${first.message}`
      : "catalog rejected";
    super(
      issues.length > 1
        ? `catalog rejected: ${summary} (and ${issues.length - 1} more)`
        : `catalog rejected: ${summary}`,
      options,
    );
    this.issues = Object.freeze([...issues]);
  }

  /** File of the first issue (what a single-field error report names). */
  get file(): string {
    return this.issues[0]?.file ?? "";
  }

  /** YAML path of the first issue. */
  get path(): string {
    return this.issues[0]?.path ?? "";
  }
}

/** A ListEndpoints page token that was not issued for this catalog revision and query. */
export class PageTokenError extends Error {
  override readonly name = "PageTokenError";
}

/** A catalog object asked for by id that does not exist (an endpoint, a stored revision). */
export class CatalogNotFoundError extends Error {
  override readonly name = "CatalogNotFoundError";

  constructor(
    readonly kind: "endpoint" | "revision",
    readonly id: string,
  ) {
    super(`${kind} "${id}" not found`);
  }
}
