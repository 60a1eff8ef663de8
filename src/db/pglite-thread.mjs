// The embedded database's own thread (see pglite-worker.ts). Plain JavaScript so that it loads
// in a worker with no TypeScript loader, whether the server runs from bin/sovr.js, tsx, a
// build, or a test runner.
import { parentPort, workerData } from "node:worker_threads";
import { PGlite, parse, protocol } from "@electric-sql/pglite";

const INT8_OID = 20;

/** A database error's fields survive the thread boundary (structured clone keeps only some). */
function describe(err) {
  const e = err instanceof Error ? err : new Error(String(err));
  const out = { name: e.name, message: e.message };
  for (const k of ["code", "detail", "hint", "severity", "constraint", "table", "column", "schema"]) {
    if (typeof e[k] === "string") out[k] = e[k];
  }
  return out;
}

let db;
try {
  db = await PGlite.create(workerData.location, { parsers: { [INT8_OID]: Number } });
  parentPort.postMessage({ ready: true });
} catch (err) {
  parentPort.postMessage({ ready: false, error: describe(err) });
}

parentPort.on("message", async (m) => {
  if (m.close) {
    try {
      await db?.close();
      parentPort.postMessage({ id: m.id, rows: [] });
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: describe(err) });
    }
    parentPort.close();
    return;
  }
  try {
    const r = m.prepared ? await execPrepared(m.prepared, m.sql, m.message) : await db.query(m.sql, m.params);
    parentPort.postMessage({ id: m.id, rows: r.rows, affectedRows: r.affectedRows });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: describe(err) });
  }
});

/** Named statements already parsed in this database's one session. */
const prepared = new Set();
/** Their texts, sent once by the dialect. */
const texts = new Map();

/**
 * A prepared statement (src/db/prepared-statement.ts): parsed once under `name`, then each
 * execution is `message` — Bind, Describe, Execute and Sync, built by the dialect — in one
 * protocol call. Outside a transaction a statement is its own commit: persisted as
 * `db.query` does.
 */
async function execPrepared(name, sent, message) {
  if (sent !== undefined) texts.set(name, sent);
  const text = texts.get(name);
  if (text === undefined) throw new Error(`prepared statement ${name} was never sent`);
  return db.runExclusive(async () => {
    if (!prepared.has(name)) {
      try {
        await db.execProtocolStream(protocol.serialize.parse({ name, text, types: [] }), { syncToFs: false });
      } finally {
        await db.execProtocolStream(protocol.serialize.sync(), { syncToFs: false });
      }
      prepared.add(name);
    }
    // The message ends with Sync: on an error the session is ready again when this throws.
    const messages = await db.execProtocolStream(message, { syncToFs: false });
    await db.syncToFs();
    return parse.parseResults(messages, db.parsers)[0];
  });
}
