import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageProbe } from "./storage-probe.js";

describe("storage probe of the embedded database's directory", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "sovr-probe-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function probeOf(name: string, minFreeBytes?: number, reuseMs?: number) {
    const dir = join(root, name);
    await mkdir(dir, { mode: 0o700 });
    const probe = await StorageProbe.open(dir, { timeoutMs: 5000, minFreeBytes, reuseMs });
    return { dir, probe };
  }

  it("reports ok for a writable directory and leaves no probe file behind", async () => {
    const { dir, probe } = await probeOf("ok");
    expect(await probe.check()).toBe("ok");
    expect(probe.refusal()).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
  });

  it("never runs two probes at once: a slow probe's file is not removed under it by the next", async () => {
    // Every check would probe (no reuse); checks while a probe is at work share its answer.
    const { dir, probe } = await probeOf("overlap", undefined, 0);
    const answers = await Promise.all(Array.from({ length: 20 }, () => probe.check()));
    expect(new Set(answers)).toEqual(new Set(["ok"]));
    expect(probe.refusal()).toBeUndefined();
    expect(await probe.check()).toBe("ok");
    expect(await readdir(dir)).toEqual([]);
  });

  it("reports a deleted directory, and refuses writes from then on", async () => {
    const { dir, probe } = await probeOf("deleted");
    await rm(dir, { recursive: true });
    expect(await probe.check()).toBe(`data directory ${dir} is gone (ENOENT)`);
    expect(probe.refusal()).toBe(`data directory ${dir} is gone (ENOENT)`);
  });

  it("reports a directory replaced by another of the same name", async () => {
    const { dir, probe } = await probeOf("replaced");
    // Made while the old one exists (a fresh inode), then moved into its place.
    await mkdir(`${dir}.new`, { mode: 0o700 });
    await rm(dir, { recursive: true });
    await rename(`${dir}.new`, dir);
    expect(await probe.check()).toBe(`data directory ${dir} was replaced after the database opened it`);
  });

  it("reports too little free space for the next WAL segment", async () => {
    const { dir, probe } = await probeOf("small", Number.MAX_SAFE_INTEGER);
    expect(await probe.check()).toMatch(
      new RegExp(`^data directory ${dir}: [0-9.]+ MiB free, below the [0-9.]+ MiB a WAL segment needs$`),
    );
  });

  it("reports a directory that no longer takes writes (its file system remounted read-only)", async (ctx) => {
    const dir = join(root, "ro");
    await mkdir(dir, { mode: 0o700 });
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", dir], {
      encoding: "utf8",
    });
    if (mount.status !== 0) return ctx.skip(`mount -t tmpfs not permitted here (${mount.stderr.trim()})`);
    try {
      const before = await StorageProbe.open(dir, { timeoutMs: 5000, minFreeBytes: 0 });
      expect(await before.check()).toBe("ok");
      expect(spawnSync("mount", ["-o", "remount,ro", dir]).status).toBe(0);
      // A fresh probe: one instance reuses its last result for a second.
      const after = await StorageProbe.open(dir, { timeoutMs: 5000, minFreeBytes: 0 });
      expect(await after.check()).toBe(`data directory ${dir} does not take a durable write (EROFS)`);
    } finally {
      spawnSync("umount", ["-l", dir]);
    }
  });
});
