import type { PostgresPool, PostgresPoolClient } from "kysely";
import type pg from "pg";
import { preparedName } from "./prepared-statement.js";

/**
 * The pg pool as kysely's Postgres dialect sees it, with one addition: a query marked by
 * {@link preparedStatement} runs as a named statement (`{ name, text, values }`), which pg
 * parses once per connection and then only binds and executes.
 */
export class PreparingPool implements PostgresPool {
  /** One wrapper per pg client: kysely keys its connection objects by the client it is given. */
  readonly #clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();

  constructor(private readonly pool: pg.Pool) {}

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    let wrapped = this.#clients.get(client);
    if (!wrapped) {
      wrapped = wrap(client);
      this.#clients.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

function wrap(client: pg.PoolClient): PostgresPoolClient {
  const query = (sqlOrCursor: unknown, parameters?: readonly unknown[]): unknown => {
    if (typeof sqlOrCursor !== "string") return client.query(sqlOrCursor as pg.Submittable);
    const name = preparedName(sqlOrCursor);
    const values = parameters ? [...parameters] : [];
    return name ? client.query({ name, text: sqlOrCursor, values }) : client.query(sqlOrCursor, values);
  };
  return { query, release: () => client.release() } as PostgresPoolClient;
}
