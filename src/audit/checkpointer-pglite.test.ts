/**
 * On PGlite a checkpoint must not hold the database's one connection while it writes the
 * latest-checkpoint file (two fsyncs): every request's decision record waits for that
 * connection, so a slow disk stalled all requests once a second under load.
 *
 * The file's replacement is held open; a decision record appended meanwhile must commit, and
 * the checkpoint then completes with the file ahead of (or level with) the stored row.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type DatabaseHandle, openDatabase } from "../db/index.js";
import { AuditLog } from "./audit-log.js";
import { latestCheckpoint } from "./audit-store.js";
import { Checkpointer } from "./checkpointer.js";
import { sampleDecisionAppend } from "./fixtures/records.js";
import { generateSigningKey } from "./keys.js";
import { LatestCheckpointFile } from "./latest-checkpoint-file.js";
import { publishSigningKey } from "./signing-keys.js";

/** The real file, whose replacement waits for a gate once armed. */
class HeldFile extends LatestCheckpointFile {
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  entered!: Promise<void>;
  #entered: (() => void) | undefined;

  hold(): void {
    this.#gate = new Promise((r) => {
      this.#open = r;
    });
    this.entered = new Promise((r) => {
      this.#entered = r;
    });
  }

  open(): void {
    this.#open?.();
  }

  override async replace(note: string): Promise<void> {
    const gate = this.#gate;
    this.#gate = undefined;
    if (gate) {
      this.#entered?.();
      await gate;
    }
    return super.replace(note);
  }
}

describe("checkpointer on PGlite", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it("lets records commit while a checkpoint writes its file", async () => {
    const h: DatabaseHandle = await openDatabase({ dataDir: "memory://" });
    cleanup.push(() => h.close());
    const keysDir = await mkdtemp(join(tmpdir(), "sovr-cp-pglite-"));
    cleanup.push(() => rm(keysDir, { recursive: true, force: true }));
    const key = generateSigningKey();
    await publishSigningKey(h.db, key);
    const origin = "test.example/pglite";
    const file = new HeldFile(keysDir, origin);
    const audit = new AuditLog(h.db, "pglite", key, { batchDelayMs: 0, batchMax: 16 });
    const cp = new Checkpointer(h.db, "pglite", audit, key, {
      origin,
      every: 1_000_000,
      intervalMs: 3_600_000,
      latestFile: file,
    });
    await cp.start();
    await audit.append(sampleDecisionAppend("acme"));

    file.hold();
    const checkpoint = cp.checkpoint();
    await file.entered;
    // The checkpoint is between its check and its file: a record still commits.
    const appended = await audit.append(sampleDecisionAppend("acme"));
    expect(appended.seq).toBe(1);
    expect(await latestCheckpoint(h.db, 0)).toBeUndefined();

    file.open();
    const signed = await checkpoint;
    expect(signed?.size).toBe(1);
    expect((await latestCheckpoint(h.db, 0))?.size).toBe(1);
    expect(await readFile(file.path, "utf8")).toBe(signed?.signedNote);
  });
});
