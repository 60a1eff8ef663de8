/**
 * Interoperability with a witness nobody here wrote (issue 14 §3): litewitness from
 * filippo.io/torchwood v0.6.1 (scripts/install-litewitness.sh), its key in an ssh-agent, our log
 * added with witnessctl. The service offers its checkpoints over the tlog-witness protocol,
 * litewitness cosigns them (Ed25519 cosignature/v1), the service verifies and stores the
 * cosignatures, and `sovr audit verify --witness <litewitness's vkey>` accepts them.
 *
 * Skipped only when litewitness is not installed; ssh-agent, ssh-add and ssh-keygen (Debian's
 * openssh-client) are then required.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exportKeys,
  formatVerifierKey,
  generateSigningKey,
  parseCosignerKey,
  saveSigningKey,
} from "../../src/audit/index.js";
import { auditClient, verifyCommand } from "../../src/cli/audit-commands.js";
import { REPO, startTestApp, type TestApp } from "../support/app.js";
import { chat, exportLog } from "../support/audit-live.js";
import { GrpcJsClient } from "../support/grpc.js";

function tool(env: string, name: string): string | undefined {
  const chosen = process.env[env];
  if (chosen) return chosen;
  const local = join(REPO, ".tools/bin", name);
  if (existsSync(local)) return local;
  try {
    return (
      execFileSync("sh", ["-c", `command -v ${name}`])
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
}

const litewitness = tool("SOVR_LITEWITNESS_BIN", "litewitness");
const witnessctl = tool("SOVR_WITNESSCTL_BIN", "witnessctl") ?? "witnessctl";
const ORIGIN = "litewitness-interop.example/audit";
const NAME = "litewitness.example/w";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves with the first line of `child`'s `stream` output matching `re`. */
/**
 * A child's whole output on `stream`, kept from the start, so several waits can look for
 * lines that arrived in one chunk (a wait that began after its line was read would hang).
 */
function outputOf(child: ChildProcess, stream: "stdout" | "stderr") {
  let all = "";
  const waiters = new Set<() => void>();
  child[stream]?.on("data", (d: Buffer) => {
    all += d.toString();
    for (const w of waiters) w();
  });
  return {
    wait(re: RegExp): Promise<RegExpExecArray> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(all);
          if (!m) return;
          waiters.delete(check);
          resolve(m);
        };
        waiters.add(check);
        child.once("exit", (code) => reject(new Error(`exited (${code}) before printing ${re}: ${all}`)));
        check();
      });
    },
  };
}

describe.skipIf(!litewitness)("litewitness (filippo.io/torchwood v0.6.1) cosigns our checkpoints", () => {
  const logKey = generateSigningKey();
  let dir: string;
  let agent: ChildProcess;
  let witness: ChildProcess;
  let vkey: string;
  let t: TestApp;
  const witnessLog: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sovr-litewitness-"));
    const sock = join(dir, "agent.sock");
    agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: ["ignore", "pipe", "pipe"] });
    await outputOf(agent, "stdout").wait(/SSH_AUTH_SOCK=/);
    const keyFile = join(dir, "witness_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "litewitness", "-f", keyFile]);
    execFileSync("ssh-add", ["-q", keyFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "pipe" });
    const fingerprint = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${keyFile}.pub`])
      .toString()
      .split(" ")[1] as string;

    // Our log, added with witnessctl before litewitness opens the database.
    const db = join(dir, "litewitness.db");
    execFileSync(witnessctl, ["add-log", "-db", db, "-origin", ORIGIN], { stdio: "pipe" });
    const logVkey = formatVerifierKey(ORIGIN, logKey.publicKeyRaw);
    execFileSync(witnessctl, ["add-key", "-db", db, "-origin", ORIGIN, "-key", logVkey], { stdio: "pipe" });

    const port = await freePort();
    witness = spawn(
      litewitness as string,
      ["-name", NAME, "-db", db, "-ssh-agent", sock, "-key", fingerprint, "-listen", `127.0.0.1:${port}`],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    witness.stderr?.on("data", (d: Buffer) => witnessLog.push(d.toString()));
    const witnessOut = outputOf(witness, "stderr");
    vkey = (await witnessOut.wait(/vkey=(\S+)/))[1] as string;
    await witnessOut.wait(/msg=listening/);

    const keysDir = join(dir, "keys");
    await saveSigningKey(keysDir, logKey);
    t = await startTestApp({
      database: "pglite",
      env: {
        SOVR_KEYS_DIR: keysDir,
        SOVR_CHECKPOINT_ORIGIN: ORIGIN,
        SOVR_CHECKPOINT_INTERVAL_MS: "3600000",
        SOVR_WITNESSES: JSON.stringify([{ name: NAME, url: `http://127.0.0.1:${port}`, vkey }]),
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    witness?.kill("SIGTERM");
    agent?.kill("SIGTERM");
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("litewitness's verifier key is an Ed25519 cosignature/v1 key (type 0x04) we parse", () => {
    expect(parseCosignerKey(vkey).name).toBe(NAME);
  });

  it("cosigns each of our checkpoints (the second after a consistency proof), and verify accepts them", async () => {
    const grpc = new GrpcJsClient(`127.0.0.1:${t.app.servers.grpcPort}`);
    const sizes: number[] = [];
    try {
      for (const content of ["to be witnessed", "witnessed again"]) {
        await chat(grpc, content);
        await t.app.audit.drain();
        await t.app.checkpointer.checkpoint();
        // The witness may not be listening yet on the first offer: the client retries.
        await t.app.witnesses?.settled();
        const cp = (await auditClient({ url: t.app.httpUrl }).getCheckpoint({})).checkpoint!;
        expect(cp.cosignatures, witnessLog.join("")).toHaveLength(1);
        expect(cp.cosignatures[0]).toMatch(new RegExp(`^— ${NAME} `));
        sizes.push(Number(cp.size));
      }
    } finally {
      grpc.close();
    }
    expect(sizes[1]).toBeGreaterThan(sizes[0] ?? 0);
    const out = await exportLog(t);
    try {
      const pinned = join(dir, "pinned.json");
      await writeFile(
        pinned,
        JSON.stringify(
          exportKeys(ORIGIN, [
            { keyId: logKey.keyId, publicKeyRaw: logKey.publicKeyRaw, validFromUs: 0, validUntilUs: null },
          ]),
        ),
      );
      const r = await verifyCommand(out, { trustedKeys: pinned, witness: [vkey], witnessesRequired: "1" });
      expect(r.stderr).toEqual([]);
      expect(r.stdout[0]).toContain("newest checkpoint cosigned by 1 of 1 pinned witnesses");
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
