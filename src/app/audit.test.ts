import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Config, ConfigError, loadConfig } from "../config/index.js";
import { embeddedJournal } from "./audit.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function config(env: Record<string, string> = {}): Config {
  const dir = mkdtempSync(join(tmpdir(), "sovr-journal-config-"));
  dirs.push(dir);
  return loadConfig({ SOVR_DATA_DIR: dir, ...env });
}

const ONE = { shards: 1, map: new Map<string, number>() };
const TWO = { shards: 2, map: new Map<string, number>() };

/** What embeddedJournal chose: whether a journal is open, and whether the log appends through it. */
function chosen(c: Config, kind: "pglite" | "postgres", layout = ONE) {
  const { journal, appends } = embeddedJournal(c, kind, layout);
  journal?.close();
  return { journal: journal !== undefined, appends };
}

describe("SOVR_AUDIT_JOURNAL", () => {
  it("defaults to auto: on for the embedded database on disk with one log shard, off elsewhere", () => {
    const c = config();
    expect(c.audit.journal).toBe("auto");
    expect(chosen(c, "pglite", TWO)).toEqual({ journal: false, appends: false });
    expect(chosen(c, "pglite")).toEqual({ journal: true, appends: true });
    expect(chosen(c, "postgres")).toEqual({ journal: false, appends: false });
    expect(chosen({ ...c, dataDir: "memory://" }, "pglite")).toEqual({ journal: false, appends: false });
  });

  it("on where it cannot be is a config error naming it", () => {
    const c = config({ SOVR_AUDIT_JOURNAL: "on" });
    expect(chosen(c, "pglite")).toEqual({ journal: true, appends: true });
    for (const [kind, cfg, layout, why] of [
      ["postgres", c, ONE, /takes the embedded database only/],
      ["pglite", { ...c, dataDir: "memory://" }, ONE, /needs the embedded database on disk/],
      ["pglite", c, TWO, /takes a log of one shard/],
    ] as const) {
      const err = (() => {
        try {
          embeddedJournal(cfg, kind, layout);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).key).toBe("SOVR_AUDIT_JOURNAL");
      expect((err as Error).message).toMatch(why);
    }
  });

  it("off: straight into the database, but a journal an earlier run left is opened for its replay", () => {
    const c = config({ SOVR_AUDIT_JOURNAL: "off" });
    expect(chosen(c, "pglite")).toEqual({ journal: false, appends: false });
    writeFileSync(join(c.dataDir, "audit.journal"), "");
    expect(chosen(c, "pglite")).toEqual({ journal: true, appends: false });
    // So is one a run with several log shards finds (auto does not append there).
    const sharded = config();
    writeFileSync(join(sharded.dataDir, "audit.journal"), "");
    expect(chosen(sharded, "pglite", TWO)).toEqual({ journal: true, appends: false });
  });

  it("refuses any other value", () => {
    expect(() => config({ SOVR_AUDIT_JOURNAL: "yes" })).toThrow(/SOVR_AUDIT_JOURNAL/);
  });
});
