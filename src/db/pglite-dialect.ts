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
   * named statement parsed once: Bind, Describe (portal), Execute, Sync. Parameters are sent as
   * given (a `Uint8Array` in binary format) or as text, not through PGlite's type serialisers.
   */
  async #executePrepared<R>(name: string, compiled: CompiledQuery) {
    const { serialize } = protocol;
    const values = compiled.parameters.map(toWireValue);
    return this.pg.runExclusive(async () => {
      const messages: Awaited<ReturnType<PGliteLike["execProtocolStream"]>> = [];
      const exec = async (message: Uint8Array) =>
        messages.push(...(await this.pg.execProtocolStream(message, { syncToFs: false })));
      try {
        if (!this.#prepared.has(name)) {
          await exec(serialize.parse({ name, text: compiled.sql, types: [] }));
          this.#prepared.add(name);
        }
        await exec(serialize.bind({ statement: name, values }));
        await exec(serialize.describe({ type: "P" }));
        await exec(serialize.execute({}));
      } finally {
        await exec(serialize.sync());
      }
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

function toWireValue(v: unknown): string | Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return v;
  if (typeof v === "string" || typeof v === "number" || typeof v === "bigint") return String(v);
  throw new TypeError(`prepared statement parameter of type ${typeof v} is not supported`);
}
