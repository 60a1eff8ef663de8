import { CompiledQuery } from "kysely";

/**
 * A statement both drivers prepare once per connection under `name` and then only bind and
 * execute: the server parses and plans it once, not on every call (a big CTE costs more to plan
 * than to run for a few rows). Kysely hands drivers SQL text and parameters only, so the name
 * travels in a leading comment that the connections recognise (src/db/pglite-dialect.ts,
 * src/db/postgres-pool.ts); any other driver just runs the text.
 *
 * @example
 * const next = preparedStatement("sovr_next_seq", "select coalesce(max(seq) + 1, 0) as n from audit_log");
 * const { rows } = await db.executeQuery<{ n: number }>(next.compile([]));
 */
export interface PreparedStatement {
  readonly name: string;
  /** The query to pass to `executeQuery` (on a `Kysely` or a `Transaction`). */
  compile(parameters: readonly unknown[]): CompiledQuery;
}

const MARK = "/* sovr:prepared ";

export function preparedStatement(name: string, text: string): PreparedStatement {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad prepared statement name ${name}`);
  const sql = `${MARK}${name} */ ${text}`;
  return { name, compile: (parameters) => CompiledQuery.raw(sql, [...parameters]) };
}

/** The statement name `sql` asks to be prepared under, if any. */
export function preparedName(sql: string): string | undefined {
  if (!sql.startsWith(MARK)) return undefined;
  return sql.slice(MARK.length, sql.indexOf(" */", MARK.length));
}
