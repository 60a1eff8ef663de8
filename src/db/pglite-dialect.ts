import { type PGlite, parse, protocol, type Results } from "@electric-sql/pglite";
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
import { preparedName } from "./prepared-statement.js";

/** The part of PGlite we use; declared here so the dialect depends on this much only. */
export type PGliteLike = Pick<
  PGlite,
  "query" | "close" | "execProtocolStream" | "runExclusive" | "syncToFs" | "parsers"
>;

/**
 * Kysely dialect for embedded PGlite. PGlite is one connection in one process, so the driver
 * hands that connection out to one holder at a time: a transaction owns it until commit or
 * rollback, and other queries wait their turn (in order) rather than interleaving.
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly pg: PGliteLike) {}
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

  constructor(private readonly pg: PGliteLike) {
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
  /** Named statements already parsed in this PGlite instance (its one session). */
  readonly #prepared = new Set<string>();

  constructor(private readonly pg: PGliteLike) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const name = preparedName(compiled.sql);
    const result = name
      ? await this.#executePrepared<R>(name, compiled)
      : await this.pg.query<R>(compiled.sql, compiled.parameters as unknown[]);
    return {
      rows: result.rows,
      numAffectedRows: result.affectedRows === undefined ? undefined : BigInt(result.affectedRows),
    };
  }

  /**
   * A {@link preparedStatement} through the extended protocol, as `pg.query` does it but with a
   * named statement parsed once: then Bind, Describe (portal), Execute and Sync in one message,
   * written here in one buffer (a batch's parameters can be a megabyte; PGlite's own writer
   * would copy them several times). A `Uint8Array` parameter is sent in binary format, anything
   * else as text; PGlite's type serialisers are not involved.
   */
  async #executePrepared<R>(name: string, compiled: CompiledQuery) {
    const message = execMessage(name, compiled.parameters);
    return this.pg.runExclusive(async () => {
      if (!this.#prepared.has(name)) {
        const { serialize } = protocol;
        try {
          await this.pg.execProtocolStream(serialize.parse({ name, text: compiled.sql, types: [] }), {
            syncToFs: false,
          });
        } finally {
          await this.pg.execProtocolStream(serialize.sync(), { syncToFs: false });
        }
        this.#prepared.add(name);
      }
      // The message ends with Sync: on an error the session is ready again when this throws.
      const messages = await this.pg.execProtocolStream(message, { syncToFs: false });
      // Outside a transaction a statement is its own commit: persist it as `pg.query` does.
      await this.pg.syncToFs();
      return parse.parseResults(messages, this.pg.parsers)[0] as unknown as Results<R>;
    });
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

/** Bind (unnamed portal, statement `name`, per-parameter formats, text results), then the rest. */
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
