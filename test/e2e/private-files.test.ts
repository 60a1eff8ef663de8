import { spawnSync } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp } from "../support/app.js";
import { type ServeProcess, spawnServe } from "../support/serve-process.js";

/**
 * Issue 11, finding 5: PGlite creates its files 0666 and directories 0755 whatever the umask,
 * so the data directory is the wall. These run as root (here and in CI); "another user" is
 * uid 65534 (nobody).
 */
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const mode = async (p: string) => (await stat(p)).mode & 0o777;

/** Reads `file` as another user in a child process: "ok", or the error code it got. */
function readAsNobody(file: string): string {
  const r = spawnSync(
    process.execPath,
    [
      "-e",
      `try{require("fs").readFileSync(${JSON.stringify(file)});console.log("ok")}catch(e){console.log(e.code)}`,
    ],
    { uid: NOBODY, gid: NOBODY, encoding: "utf8" },
  );
  return r.stdout.trim();
}

/** The exit code and output of a `sovr serve` that must refuse to start. */
async function refusedStart(s: ServeProcess): Promise<{ code: number | null; out: string }> {
  const timeout = new Promise<"still running">((r) => setTimeout(() => r("still running"), 60_000).unref());
  const code = await Promise.race([s.exited, timeout]);
  s.proc.kill("SIGKILL");
  return { code: code === "still running" ? null : code, out: s.out() };
}

describe.runIf(isRoot)("files private by default", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "sovr-private-files-"));
    // Open like /var/lib: only the directories the server creates keep others out.
    await chmod(root, 0o755);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("creates the data and keys directories 0700 and key files 0600; another user reaches none of PGlite's files", async () => {
    const dataDir = join(root, "fresh/data");
    const t = await startTestApp({ env: { SOVR_DATA_DIR: dataDir } });
    try {
      expect(await mode(join(root, "fresh"))).toBe(0o700);
      expect(await mode(dataDir)).toBe(0o700);
      expect(await mode(join(dataDir, "keys"))).toBe(0o700);
      const keyFiles = (await readdir(join(dataDir, "keys"))).filter((n) => n.endsWith(".key.pem"));
      expect(keyFiles).toHaveLength(1);
      expect(await mode(join(dataDir, "keys", keyFiles[0]!))).toBe(0o600);

      const pgFile = join(dataDir, "pglite/PG_VERSION");
      expect(readAsNobody(pgFile)).toBe("EACCES");
      // The control: PGlite's own modes let anyone in once the directory does.
      await chmod(join(root, "fresh"), 0o755);
      await chmod(dataDir, 0o755);
      expect(readAsNobody(pgFile)).toBe("ok");
      await chmod(dataDir, 0o700);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("refuses to start (exit 1) with a data directory others can read, a keys directory another user owns, or an open master key file — naming path, mode and fix, changing nothing", async () => {
    const openData = join(root, "open-data");
    await mkdir(openData, { mode: 0o755 });
    await chmod(openData, 0o755);

    const foreign = join(root, "foreign");
    await mkdir(join(foreign, "keys"), { recursive: true, mode: 0o700 });
    await chown(join(foreign, "keys"), NOBODY, NOBODY);

    const withKey = join(root, "with-master-key");
    await mkdir(withKey, { mode: 0o700 });
    const keyFile = join(withKey, "master.key");
    await writeFile(keyFile, `${"ab".repeat(32)}\n`, { mode: 0o644 });
    await chmod(keyFile, 0o644);

    const [data, keys, master] = await Promise.all([
      refusedStart(spawnServe({ SOVR_DATA_DIR: openData })),
      refusedStart(
        spawnServe({ SOVR_DATA_DIR: join(foreign, "data"), SOVR_KEYS_DIR: join(foreign, "keys") }),
      ),
      refusedStart(spawnServe({ SOVR_DATA_DIR: join(withKey, "data"), SOVR_MASTER_KEY_FILE: keyFile })),
    ]);

    expect(data.code).toBe(1);
    expect(data.out).toContain(
      `data directory ${openData} has mode 0755: other users can read it. Fix: chmod 700 ${openData}`,
    );
    expect(await mode(openData)).toBe(0o755);
    expect(await readdir(openData)).toEqual([]);

    expect(keys.code).toBe(1);
    expect(keys.out).toContain(
      `signing keys directory ${join(foreign, "keys")} is owned by uid ${NOBODY}, not by this process (uid 0)`,
    );
    expect(keys.out).toContain(`Fix: chown 0 ${join(foreign, "keys")} && chmod 700 ${join(foreign, "keys")}`);

    expect(master.code).toBe(1);
    expect(master.out).toContain(
      `BYOK master key file ${keyFile} has mode 0644: other users can read it. Fix: chmod 600 ${keyFile}`,
    );
  }, 90_000);
});
