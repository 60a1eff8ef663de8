import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { request } from "undici";
import { freePort, startProcess, waitFor } from "./procs.js";
import { CACHE, type PeerStarted, REPO } from "./systems.js";

/**
 * The wider field (issue 19 part 6): the **floor** (bench/lib/floor-proxy.ts, a bare Node
 * pass-through written for the bench) and the further gateways bench/setup.sh tries to install
 * from the registries. Each runs as its own process, pointed at the same simulator.
 */

type PeerResult = ({ ok: true } & PeerStarted) | { ok: false; name: string; reason: string; notes: string[] };

const status = async (url: string) => {
  const r = await request(url, { headersTimeout: 2_000, bodyTimeout: 2_000 });
  await r.body.text();
  return r.statusCode;
};

/** The floor: `node --import tsx bench/lib/floor-proxy.ts <port> <simulator>`. */
export async function startFloor(simUrl: string, logDir: string): Promise<PeerResult> {
  const port = await freePort();
  const managed = startProcess(
    "floor",
    process.execPath,
    ["--title=bench-target-floor", "--import", "tsx", "bench/lib/floor-proxy.ts", String(port), simUrl],
    { cwd: REPO, logFile: join(logDir, "floor.log") },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    // Any answer proves it listens and forwards (the simulator's /v1/models).
    await waitFor("floor", async () => (await status(`${url}/v1/models`)) === 200, 30_000, managed);
  } catch (err) {
    await managed.stop("SIGKILL");
    return { ok: false, name: "floor", reason: (err as Error).message, notes: [] };
  }
  return {
    ok: true,
    name: "floor",
    managed,
    version: "bench/lib/floor-proxy.ts",
    notes: [
      "minimal pass-through written for the bench: node:http server → undici keep-alive pool → simulator, bodies piped, no policy, no record, no auth",
      "one process (like sovr and Portkey); what Node's HTTP server + client cost on this machine",
    ],
    url,
    headers: {},
  };
}

async function installStatus(dir: string): Promise<{ ok: boolean; text: string }> {
  const f = join(CACHE, dir, "install.status");
  if (!existsSync(f)) return { ok: false, text: `not installed (run: bash bench/setup.sh; cache ${CACHE})` };
  const text = (await readFile(f, "utf8")).trim();
  return { ok: text.startsWith("ok"), text };
}

/**
 * @nullplatform/llm-gateway (npm): an Express-based OpenAI/Anthropic-compatible gateway, started
 * with its CLI (`llm-gateway start -c <config>`), one model whose OpenAI provider's `baseUrl` is the
 * simulator. Its OpenAI route is `/openai/v1/chat/completions`. Logging at `warn`, as the bench
 * runs sovr (its default `info` writes one line per request).
 */
export async function startNullplatform(simUrl: string, logDir: string): Promise<PeerResult> {
  const name = "llm-gateway";
  const st = await installStatus("nullplatform");
  if (!st.ok) return { ok: false, name, reason: st.text, notes: [] };
  const dir = join(CACHE, "nullplatform", "node_modules", "@nullplatform", "llm-gateway");
  const port = await freePort();
  const config = join(logDir, "llm-gateway.yaml");
  await writeFile(
    config,
    [
      "server:",
      "  host: 127.0.0.1",
      `  port: ${port}`,
      "maxRetries: 1",
      "defaultProject: true",
      "models:",
      "  - name: sim/chat-small",
      "    isDefault: true",
      "    provider:",
      "      type: openai",
      "      config:",
      "        apiKey: sk-bench",
      "        model: sim/chat-small",
      `        baseUrl: ${simUrl}/v1`,
      "logging:",
      "  level: warn",
      "",
    ].join("\n"),
  );
  const managed = startProcess(name, process.execPath, ["dist/cli.js", "start", "-c", config], {
    cwd: dir,
    env: { NODE_ENV: "production" },
    logFile: join(logDir, "llm-gateway.log"),
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(name, async () => (await status(`${url}/health`)) === 200, 60_000, managed);
  } catch (err) {
    await managed.stop("SIGKILL");
    return { ok: false, name, reason: `did not start: ${(err as Error).message}`, notes: [] };
  }
  return {
    ok: true,
    name,
    managed,
    version: `@nullplatform/llm-gateway ${st.text.split(" ")[1] ?? "?"}`,
    notes: [
      "`llm-gateway start -c <config>` (its CLI; one process: it has no cluster or worker option), NODE_ENV=production",
      "OpenAI provider with `baseUrl` = simulator, model sim/chat-small; logging level warn (default info logs every request)",
      ...(st.text.includes("override") ? [st.text.replace(/^ok [^ ]+ ?/, "")] : []),
    ],
    url,
    headers: {},
    chatPath: "/openai/v1/chat/completions",
  };
}

/**
 * Gateways bench/setup.sh tried and could not install or run here, with the reason it recorded
 * (e.g. a wrapper that downloads its binary from the vendor's site, which the machine cannot reach).
 */
export async function gatewaysNotRun(): Promise<Record<string, { status: string; notes: string[] }>> {
  const out: Record<string, { status: string; notes: string[] }> = {};
  for (const dir of ["bifrost", "bifrost-go"]) {
    const st = await installStatus(dir);
    if (!st.ok) out[dir] = { status: `not measured: ${st.text}`, notes: [] };
  }
  return out;
}
