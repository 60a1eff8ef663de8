import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from "kysely";
import type { EmbeddedPostgres } from "./pglite-worker.js";
import { preparedName } from "./prepared-statement.js";

/**
 * Kysely dialect for embedded PGlite. PGlite is one connection in one process, so the driver
 * hands that connection out to one holder at a time: a transaction owns it until commit or
 * rollback, and other queries wait their turn (in order) rather than interleaving.
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly pg: EmbeddedPostgres) {}
  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.pg);
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}

class PGliteDriver implements Driver {
  #tail: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;
  readonly #connection: PGliteConnection;

  constructor(private readonly pg: EmbeddedPostgres) {
    this.#connection = new PGliteConnection(pg);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((r) => {
      release = r;
    });
    await previous;
    this.#release = release;
    return this.#connection;
  }

  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw("begin"));
  }
  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw("commit"));
  }
  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw("rollback"));
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    await this.#tail;
    await this.pg.close();
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly pg: EmbeddedPostgres) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const name = preparedName(compiled.sql);
    const result = name
      ? await this.pg.execPrepared<R>(name, compiled.sql, execMessage(name, compiled.parameters))
      : await this.pg.query<R>(compiled.sql, compiled.parameters as unknown[]);
    return {
      rows: result.rows,
      numAffectedRows: result.affectedRows === undefined ? undefined : BigInt(result.affectedRows),
    };
  }

  // biome-ignore lint/correctness/useYield: PGlite has no cursors; streaming is refused outright.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("PGlite dialect does not support streaming queries");
  }
}

const utf8 = new TextEncoder();
/** Describe (portal ""), Execute (portal "", all rows), Sync. */
const DESCRIBE_EXECUTE_SYNC = new Uint8Array([
  0x44, 0, 0, 0, 6, 0x50, 0, 0x45, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0x53, 0, 0, 0, 4,
]);

/**
 * A {@link preparedStatement} execution as one extended-protocol message: Bind (unnamed portal,
 * statement `name`, per-parameter formats, text results), Describe, Execute and Sync, written in
 * one buffer (a batch's parameters can be a megabyte; PGlite's own writer would copy them
 * several times). A `Uint8Array` parameter is sent in binary format, anything else as text;
 * PGlite's type serialisers are not involved. The database thread parses the statement under
 * `name` on first use (src/db/pglite-thread.mjs).
 */
function execMessage(name: string, parameters: readonly unknown[]): Uint8Array {
  const values = parameters.map((v): Uint8Array | null => {
    if (v === null || v === undefined) return null;
    if (v instanceof Uint8Array) return v;
    if (typeof v === "string" || typeof v === "number" || typeof v === "bigint")
      return utf8.encode(String(v));
    throw new TypeError(`prepared statement parameter of type ${typeof v} is not supported`);
  });
  const statement = utf8.encode(name);
  let bindLength = 4 + 1 + statement.length + 1 + 2 + 2 * values.length + 2 + 2;
  for (const v of values) bindLength += 4 + (v?.length ?? 0);
  const out = new Uint8Array(1 + bindLength + DESCRIBE_EXECUTE_SYNC.length);
  const view = new DataView(out.buffer);
  let at = 0;
  out[at++] = 0x42; // 'B'
  view.setInt32(at, bindLength);
  at += 4;
  out[at++] = 0; // unnamed portal
  out.set(statement, at);
  at += statement.length;
  out[at++] = 0;
  view.setInt16(at, values.length);
  at += 2;
  for (const v of parameters) {
    view.setInt16(at, v instanceof Uint8Array ? 1 : 0);
    at += 2;
  }
  view.setInt16(at, values.length);
  at += 2;
  for (const v of values) {
    view.setInt32(at, v === null ? -1 : v.length);
    at += 4;
    if (v !== null) {
      out.set(v, at);
      at += v.length;
    }
  }
  view.setInt16(at, 0); // result columns: text
  at += 2;
  out.set(DESCRIBE_EXECUTE_SYNC, at);
  return out;
}
