import { chmod, chown, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPrivateDir, checkPrivateFile, ensurePrivateDir, PrivatePathError } from "./private-paths.js";

/** Another user: `nobody` on most systems. Changing an owner needs root (the tests run as root). */
const OTHER_UID = 65534;
const isRoot = process.getuid?.() === 0;

describe("private paths", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "sovr-private-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("creates a missing directory and its missing parents 0700, even under a permissive umask", async () => {
    const old = process.umask(0o000);
    try {
      await ensurePrivateDir(join(root, "a/b/data"), "data directory");
    } finally {
      process.umask(old);
    }
    for (const p of ["a", "a/b", "a/b/data"]) expect((await stat(join(root, p))).mode & 0o777).toBe(0o700);
  });

  it("accepts an existing 0700 directory and leaves it as it is", async () => {
    const dir = join(root, "ok");
    await mkdir(dir, { mode: 0o700 });
    await ensurePrivateDir(dir, "data directory");
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it.each([
    [0o755, "0755", "read"],
    [0o770, "0770", "read and write"],
    [0o701, "0701", "enter"],
    [0o703, "0703", "write"],
  ])(
    "refuses a directory of mode %s, naming path, mode and the fix, without changing it",
    async (mode, shown, can) => {
      const dir = join(root, `open-${shown}`);
      await mkdir(dir);
      await chmod(dir, mode);
      const err = await ensurePrivateDir(dir, "data directory").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrivatePathError);
      expect((err as Error).message).toBe(
        `data directory ${dir} has mode ${shown}: other users can ${can} it. Fix: chmod 700 ${dir}`,
      );
      expect((await stat(dir)).mode & 0o777).toBe(mode);
    },
  );

  it.runIf(isRoot)("refuses a 0700 directory owned by another user", async () => {
    const dir = join(root, "foreign");
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, OTHER_UID, OTHER_UID);
    const err = await checkPrivateDir(dir, "signing keys directory").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrivatePathError);
    expect((err as Error).message).toBe(
      `signing keys directory ${dir} is owned by uid ${OTHER_UID}, not by this process (uid 0): its owner ` +
        `can read and change it. Fix: chown 0 ${dir} && chmod 700 ${dir} (or run the server as its owner)`,
    );
  });

  it("refuses a path that is not a directory, and a missing one", async () => {
    const file = join(root, "plain");
    await writeFile(file, "x", { mode: 0o600 });
    await expect(checkPrivateDir(file, "data directory")).rejects.toThrow(
      `data directory ${file} is not a directory`,
    );
    await expect(checkPrivateDir(join(root, "missing"), "data directory")).rejects.toMatchObject({
      code: "ENOENT",
    });
  });

  it("accepts a 0600 key file and refuses a 0644 one, or one owned by another user", async () => {
    const file = join(root, "master.key");
    await writeFile(file, "k", { mode: 0o600 });
    await checkPrivateFile(file, "BYOK master key file");
    await chmod(file, 0o644);
    await expect(checkPrivateFile(file, "BYOK master key file")).rejects.toThrow(
      `BYOK master key file ${file} has mode 0644: other users can read it. Fix: chmod 600 ${file}`,
    );
    if (!isRoot) return;
    await chmod(file, 0o600);
    await chown(file, OTHER_UID, OTHER_UID);
    await expect(checkPrivateFile(file, "BYOK master key file")).rejects.toThrow(/owned by uid 65534/);
  });
});
