// The embedded database's own thread (see pglite-worker.ts). Plain JavaScript so that it loads
// in a worker with no TypeScript loader, whether the server runs from bin/sovr.js, tsx, a
// build, or a test runner.
import { statSync } from "node:fs";
import { getHeapStatistics } from "node:v8";
import { parentPort, workerData } from "node:worker_threads";
import { PGlite, parse, protocol } from "@electric-sql/pglite";
import { CHECK_EVERY_MS, startCheckpoints } from "./pglite-checkpoints.mjs";
import { startVacuum, VACUUM_EVERY_MS, vacuumIfDue } from "./pglite-vacuum.mjs";

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

/**
 * The data directory as opened (device and inode), or undefined in memory. Postgres keeps its
 * files open: with the directory deleted or replaced underneath, writes still "succeed" into
 * unlinked files — lost at close — until a new file is needed, and then Postgres's state breaks
 * (errors, then a thread that never answers again). So after every statement the directory is
 * looked up again by name; a reply goes back only while it is still the one we write to.
 */
let opened;
/** Set once the database can no longer be trusted: every later message gets this error. */
let broken;

/** Why the database must stop (directory gone or replaced, Wasm aborted, Postgres PANIC), or undefined. */
function fatalCause(err) {
  if (opened) {
    let now;
    try {
      now = statSync(workerData.location);
    } catch (e) {
      return `data directory ${workerData.location} is gone (${e.code ?? e.message}): writes since are not durable`;
    }
    if (now.ino !== opened.ino || now.dev !== opened.dev)
      return `data directory ${workerData.location} was replaced: writes since are not durable`;
  }
  if (err === undefined) return undefined;
  // A Wasm trap or abort leaves Postgres's memory in an unknown state; PANIC and FATAL end a
  // real Postgres backend too.
  if (err instanceof WebAssembly.RuntimeError || err?.name === "ExitStatus")
    return `embedded database aborted: ${err.message}`;
  if (err?.severity === "PANIC" || err?.severity === "FATAL")
    return `embedded database failed (${err.severity}): ${err.message}`;
  return undefined;
}

function breakDown(message) {
  broken = { message, code: "58030" }; // io_error: the storage under the database failed
  parentPort.postMessage({ fatal: broken });
}

let db;
/** Stops the checkpoint checks (pglite-checkpoints.mjs). */
let stopCheckpoints = () => {};
/** Stops the vacuum checks (pglite-vacuum.mjs). */
let stopVacuum = () => {};
try {
  db = await PGlite.create(workerData.location, {
    parsers: { [INT8_OID]: Number },
    // Memory settings (pglite-memory.ts) after PGlite's own start parameters.
    startParams: [...PGlite.defaultStartParams, ...(workerData.settings ?? [])],
  });
  if (!workerData.location.startsWith("memory://")) opened = statSync(workerData.location);
  // A failed checkpoint or vacuum that leaves the database untrustworthy stops it; any other is
  // reported (the next check tries again).
  const onMaintenanceError = (task) => (err) => {
    const fatal = broken ? undefined : fatalCause(err);
    if (fatal) breakDown(fatal);
    else if (!broken) parentPort.postMessage({ maintenanceFailed: { task, ...describe(err) } });
  };
  stopCheckpoints = startCheckpoints(
    db,
    workerData.checkpointEveryMs ?? CHECK_EVERY_MS,
    onMaintenanceError("checkpoint"),
  );
  stopVacuum = startVacuum(
    db,
    workerData.vacuumEveryMs ?? VACUUM_EVERY_MS,
    onMaintenanceError("vacuum"),
    (done) => parentPort.postMessage({ vacuumed: done }),
  );
  parentPort.postMessage({ ready: true });
} catch (err) {
  parentPort.postMessage({ ready: false, error: describe(err) });
}

parentPort.on("message", async (m) => {
  if (broken && !m.close) {
    parentPort.postMessage({ id: m.id, error: broken });
    return;
  }
  if (m.close) {
    stopCheckpoints();
    stopVacuum();
    try {
      await db?.close();
      parentPort.postMessage({ id: m.id, rows: [] });
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: describe(err) });
    }
    parentPort.close();
    return;
  }
  let reply;
  let failure;
  try {
    if (m.heapStatistics) {
      // This thread's own V8 heap (pglite-worker.ts heapStatistics).
      reply = { id: m.id, rows: [getHeapStatistics()] };
    } else if (m.vacuumNow) {
      // What is due, now (at start-up, before the server serves: pglite-worker.ts vacuumNow).
      reply = { id: m.id, rows: await vacuumIfDue(db, { startup: true }) };
    } else {
      const r = m.prepared
        ? await execPrepared(m.prepared, m.sql, m.message)
        : await db.query(m.sql, m.params);
      reply = { id: m.id, rows: r.rows, affectedRows: r.affectedRows };
    }
  } catch (err) {
    failure = err;
    reply = { id: m.id, error: describe(err) };
  }
  // Checked before replying: a commit into a vanished directory is answered as the failure it is.
  const fatal = broken ? undefined : fatalCause(failure);
  if (fatal) {
    breakDown(fatal);
    reply = { id: m.id, error: broken };
  }
  parentPort.postMessage(reply);
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
