import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { request } from "undici";
import { freePort, type Managed, startProcess, waitFor } from "./procs.js";

/**
 * Starting the systems under test, each as its own process: the upstream simulator, sovr
 * (`node bin/sovr.js serve`), Portkey's gateway and the LiteLLM proxy — the latter two from the
 * cache `bench/setup.sh` fills. A peer that is not installed or does not start is returned as
 * a failure with the reason, which becomes its result.
 */

const execFileP = promisify(execFile);

export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const CACHE =
  process.env.SOVR_BENCH_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? "/tmp", ".cache"), "sovr-bench");

export interface Started {
  name: string;
  managed: Managed;
  version: string;
  /** How it was started, incl. any workaround applied. */
  notes: string[];
}

export type StartResult =
  | ({ ok: true } & Started)
  | { ok: false; name: string; reason: string; notes: string[] };

const get = async (url: string, headers: Record<string, string> = {}) => {
  const r = await request(url, { headers, headersTimeout: 2_000, bodyTimeout: 2_000 });
  await r.body.text();
  return r.statusCode;
};

export async function startSimulator(logDir: string): Promise<Started & { url: string }> {
  const port = await freePort();
  const managed = startProcess(
    "simulator",
    process.execPath,
    ["--import", "tsx", "bench/simulator-process.ts", String(port)],
    {
      cwd: REPO,
      logFile: join(logDir, "simulator.log"),
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor("simulator", async () => (await get(`${url}/v1/models`)) === 200, 30_000, managed);
  return {
    name: "simulator",
    managed,
    version: "src/simulator/simulator.ts",
    notes: ["TTFT 0, unpaced, 16 chunks"],
    url,
  };
}

export interface SovrStarted extends Started {
  grpcAddress: string;
  httpUrl: string;
  dataDir: string;
  /** `authorization` header value for this server's API, when it requires keys. */
  headers: Record<string, string>;
}

export async function startSovr(
  name: string,
  simUrl: string,
  logDir: string,
  opts: {
    databaseUrl?: string;
    nodeArgs?: string[];
    env?: Record<string, string | undefined>;
    /** Another checkout to run (its bin/sovr.js and dist/), for A/B runs (bench/trees-ab.ts, bench/mem-ab.ts). */
    repo?: string;
  } = {},
): Promise<SovrStarted> {
  await ensureBuilt(opts.repo ?? REPO);
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const dataDir = await mkdtemp(join(tmpdir(), `sovr-bench-${name}-`));
  const env: Record<string, string | undefined> = {
    SOVR_HOST: "127.0.0.1",
    SOVR_GRPC_PORT: String(grpcPort),
    SOVR_HTTP_PORT: String(httpPort),
    SOVR_DATA_DIR: dataDir,
    SOVR_SIMULATOR: "false",
    SOVR_SIMULATOR_URL: simUrl,
    SOVR_CATALOG_WATCH: "false",
    // The default level (info): an access line per request, as shipped (docs/operations.md
    // "Logs"); it was warn until session 17, which left the lines' cost out of every figure.
    // An arm or a variant may still set its own.
    SOVR_LOG_LEVEL: "info",
    SOVR_INSTANCE: name,
    // The content detectors' rows (docs/benchmarks.md): the same run with them on and off.
    SOVR_CONTENT_DETECTORS: process.env.SOVR_CONTENT_DETECTORS,
    // Traces (docs/operations.md): the tracing on/off rows pass the standard variables through.
    OTEL_TRACES_EXPORTER: process.env.OTEL_TRACES_EXPORTER,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_TRACES_SAMPLER: process.env.OTEL_TRACES_SAMPLER,
    OTEL_TRACES_SAMPLER_ARG: process.env.OTEL_TRACES_SAMPLER_ARG,
    // Unset for the PGlite target, also when the bench itself runs with DATABASE_URL.
    DATABASE_URL: opts.databaseUrl,
    // As every shipped way of starting sovr sets it (npm start, deploy/Dockerfile, the systemd
    // unit; docs/operations.md "Memory"): glibc's malloc arenas capped at two. Without it the
    // database's Wasm compiler threads each keep an arena of their own resident. An empty
    // MALLOC_ARENA_MAX in the bench's environment measures glibc's default instead.
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX === "" ? undefined : (process.env.MALLOC_ARENA_MAX ?? "2"),
    // Likewise blocks of 32 KiB or more mapped on their own (returned when freed).
    MALLOC_MMAP_THRESHOLD_:
      process.env.MALLOC_MMAP_THRESHOLD_ === "" ? undefined : (process.env.MALLOC_MMAP_THRESHOLD_ ?? "32768"),
    // A variant's own settings (bench/lib/variants.ts: detectors off, tracing on).
    ...opts.env,
  };
  const notes = [
    opts.databaseUrl ? "Postgres (DATABASE_URL)" : "embedded PGlite in a temp SOVR_DATA_DIR",
    "shipped catalog and policy bundle",
    (opts.env?.SOVR_LOG_LEVEL ?? "info") === "info"
      ? "log level info (the default: one access line per request, to its log file through a pipe)"
      : `log level ${opts.env?.SOVR_LOG_LEVEL}`,
    Number(opts.env?.SOVR_WORKERS ?? 1) > 1
      ? `SOVR_WORKERS=${opts.env?.SOVR_WORKERS}: that many worker processes sharing the ports (node:cluster) under one supervisor, one per core as docs/deployment.md ("Workers on one host") recommends; CPU and RSS are the whole process tree's`
      : "one process (SOVR_WORKERS=1, the default; the sovr-pgw rows run one worker per core)",
  ];
  const key = await createApiKey(env, opts.repo);
  notes.push(key.note);
  // --title: other people's clean-up (`pkill -f "sovr.js serve"`) must not stop the bench's servers.
  // V8's flags as every shipped way of starting sovr sets them (docs/operations.md "Memory");
  // an arm's own flags come later and win.
  const args = [
    `--title=bench-target-${name}`,
    "--max-semi-space-size=8",
    "--no-memory-reducer",
    ...(opts.nodeArgs ?? []),
    "bin/sovr.js",
    "serve",
  ];
  const managed = startProcess(name, process.execPath, args, {
    cwd: opts.repo ?? REPO,
    env,
    logFile: join(logDir, `${name}.log`),
  });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  await waitFor(name, async () => (await get(`${httpUrl}/readyz`)) === 200, 90_000, managed);
  // The first worker answers /readyz while the others still start (one after it): a client
  // connecting now would reach it alone (node:cluster hands a connection to a listening worker).
  if (Number(env.SOVR_WORKERS ?? 1) > 1)
    await waitFor(
      name,
      async () => (await readFile(managed.logFile, "utf8").catch(() => "")).includes('"workers serving"'),
      90_000,
      managed,
    );
  const pkg = JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { version: string };
  return {
    name,
    managed,
    version: pkg.version,
    notes,
    headers: key.token ? { authorization: `Bearer ${key.token}` } : sovrAuthHeader(),
    grpcAddress: `127.0.0.1:${grpcPort}`,
    httpUrl,
    dataDir,
  };
}

/**
 * A client API key for the bench, created the way an operator bootstraps one: `sovr keys create`
 * against the server's database before the server starts. Without that command (older trees)
 * the requests go without a key, or with SOVR_BENCH_KEY / SOVR_KEY when set.
 */
/**
 * The checkout's dist/ built from its sources as they are now, built here when it is not.
 * Otherwise bin/sovr.js runs the sources through tsx: not the server as shipped (~40 MiB more
 * resident, more CPU), and a source edited while a run goes on silently changes what the
 * later segments measure (it happened: a run's RSS rose 30–40 MiB in every cell).
 */
async function ensureBuilt(repo: string): Promise<void> {
  const state = (await import(pathToFileURL(join(repo, "bin", "build-state.js")).href)) as {
    buildIsCurrent(): boolean;
  };
  if (state.buildIsCurrent()) return;
  await execFileP(process.execPath, ["bin/build-if-stale.js"], { cwd: repo, timeout: 300_000 });
  if (!state.buildIsCurrent())
    throw new Error(
      `${repo}: dist/ is not a build of its current sources and \`npm run build\` failed there`,
    );
}

/** A client key made with the CLI of the checkout that will serve (`repo`): it migrates the data directory, which that checkout's server must then recognise. */
async function createApiKey(
  env: Record<string, string | undefined>,
  repo = REPO,
): Promise<{ token?: string; note: string }> {
  const childEnv = { ...process.env, ...env } as NodeJS.ProcessEnv;
  delete childEnv.SOVR_KEY; // with SOVR_KEY the CLI would ask a running server instead
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  try {
    const { stdout } = await execFileP(
      process.execPath,
      [
        "bin/sovr.js",
        "keys",
        "create",
        "--tenant",
        "bench",
        "--role",
        "client",
        "--description",
        "bench/run.ts",
      ],
      { cwd: repo, env: childEnv, timeout: 60_000 },
    );
    const token = stdout.trim().split("\n").at(-1)?.trim();
    if (!token) throw new Error("no key printed");
    return { token, note: "API key auth on (a client key created with `sovr keys create` before start)" };
  } catch (err) {
    return {
      note: `no API key created (${(err as Error).message.split("\n")[0]}); requests sent ${sovrAuthHeader().authorization ? "with SOVR_BENCH_KEY/SOVR_KEY" : "without a key"}`,
    };
  }
}

/** Does sovr's OpenAI-compatible route answer a chat completion? ("not available" otherwise). */
export async function probeOpenAiRoute(
  httpUrl: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ ok: boolean; detail: string }> {
  try {
    const r = await request(`${httpUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await r.body.text();
    if (r.statusCode !== 200) return { ok: false, detail: `HTTP ${r.statusCode}: ${text.slice(0, 160)}` };
    const j = JSON.parse(text) as { choices?: { message?: { content?: string } }[] };
    return j.choices?.[0]?.message?.content
      ? { ok: true, detail: "answers" }
      : { ok: false, detail: `200 without choices: ${text.slice(0, 160)}` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

/** `authorization` for sovr when the server requires API keys (SOVR_KEY / SOVR_BENCH_KEY). */
export function sovrAuthHeader(): Record<string, string> {
  const key = process.env.SOVR_BENCH_KEY ?? process.env.SOVR_KEY;
  return key ? { authorization: `Bearer ${key}` } : {};
}

async function installStatus(peer: string): Promise<{ ok: boolean; text: string }> {
  const f = join(CACHE, peer, "install.status");
  if (!existsSync(f)) return { ok: false, text: `not installed (run: bash bench/setup.sh; cache ${CACHE})` };
  const text = (await readFile(f, "utf8")).trim();
  return { ok: text.startsWith("ok"), text };
}

export interface PeerStarted extends Started {
  url: string;
  headers: Record<string, string>;
  /** Its OpenAI-compatible chat route, when not `/v1/chat/completions`. */
  chatPath?: string;
}

/**
 * Portkey's open-source gateway, stock: `node build/start-server.js --headless`, OpenAI provider
 * with `x-portkey-custom-host` pointing at the simulator (127.0.0.1 is a default trusted host).
 */
export async function startPortkey(
  simUrl: string,
  logDir: string,
  variant: "portkey" | "portkey-pinned" = "portkey",
): Promise<({ ok: true } & PeerStarted) | { ok: false; name: string; reason: string; notes: string[] }> {
  const name = "portkey";
  const st = await installStatus(variant);
  if (!st.ok) return { ok: false, name, reason: st.text, notes: [] };
  const dir = join(CACHE, variant, "node_modules", "@portkey-ai", "gateway");
  const port = await freePort();
  const managed = startProcess(
    name,
    process.execPath,
    ["build/start-server.js", `--port=${port}`, "--headless"],
    {
      cwd: dir,
      logFile: join(logDir, `${variant}.log`),
    },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(name, async () => (await get(`${url}/`)) === 200, 60_000, managed);
  } catch (err) {
    await managed.stop("SIGKILL");
    return {
      ok: false,
      name,
      reason: `did not start: ${(err as Error).message} (log ${managed.logFile})`,
      notes: [],
    };
  }
  return {
    ok: true,
    name,
    managed,
    version: st.text.replace(/^ok /, ""),
    notes: [
      variant === "portkey"
        ? "stock install, `node build/start-server.js --headless`"
        : "workaround applied: @hono/node-server pinned to 1.14.2 (Portkey-AI/gateway#1389), `node build/start-server.js --headless`",
      "provider openai + x-portkey-custom-host = simulator",
      "one process: its Node server has no cluster or worker option (build/start-server.js takes --port and --headless only; the README runs it as `npx @portkey-ai/gateway`, and its deployment guides scale by replicas: Docker, a Kubernetes Deployment)",
    ],
    url,
    headers: {
      "x-portkey-provider": "openai",
      "x-portkey-custom-host": `${simUrl}/v1`,
      authorization: "Bearer sk-bench",
    },
  };
}

/**
 * LiteLLM's production guide (https://docs.litellm.ai/docs/proxy/prod, "Match Uvicorn Workers to
 * CPU Count"): `--num_workers $(nproc)` on a VM or bare metal, and `LITELLM_LOG=ERROR` to turn off
 * FastAPI's per-request info logs. BENCH_LITELLM_WORKERS overrides the count (1 = the old rows).
 */
const LITELLM_WORKERS = Number(process.env.BENCH_LITELLM_WORKERS ?? availableParallelism());

/**
 * The LiteLLM proxy, `litellm --config … --num_workers <cores>` as its production guide says.
 * Since 1.8x it refuses to start without a master key; the documented fix is to set one
 * (LITELLM_MASTER_KEY), which we do — requests then carry it as their bearer token.
 * LITELLM_LOCAL_MODEL_COST_MAP=True (documented) keeps it from fetching its price map online.
 */
export async function startLiteLLM(
  simUrl: string,
  logDir: string,
): Promise<({ ok: true } & PeerStarted) | { ok: false; name: string; reason: string; notes: string[] }> {
  const name = "litellm";
  const st = await installStatus(name);
  if (!st.ok) return { ok: false, name, reason: st.text, notes: [] };
  const bin = join(CACHE, name, "venv", "bin", "litellm");
  const config = join(logDir, "litellm.yaml");
  await writeFile(
    config,
    [
      "model_list:",
      "  - model_name: sim/chat-small",
      "    litellm_params:",
      "      model: openai/sim/chat-small",
      `      api_base: ${simUrl}/v1`,
      "      api_key: sk-bench",
      "",
    ].join("\n"),
  );
  const masterKey = `sk-bench-${randomBytes(24).toString("hex")}`;
  const port = await freePort();
  const stock = await readFile(join(CACHE, name, "stock-start.txt"), "utf8").catch(
    () => "not checked (re-run bench/setup.sh)",
  );
  const notes = [
    `\`litellm --config <file> --num_workers ${LITELLM_WORKERS}\` (${LITELLM_WORKERS} uvicorn worker process${LITELLM_WORKERS === 1 ? "" : "es"}): its production guide, docs.litellm.ai/docs/proxy/prod, "Match Uvicorn Workers to CPU Count" — \`--num_workers $(nproc)\` on a VM; this machine has ${availableParallelism()} cores`,
    `stock start without a master key (checked by bench/setup.sh): ${stock.trim()}`,
    "workaround applied: LITELLM_MASTER_KEY set (the fix the refusal message itself documents)",
    ...(LITELLM_WORKERS > 1
      ? [
          "`--timeout_worker_healthcheck 120` (its CLI option): with uvicorn's default the workers, still importing litellm on this shared 2-core machine, fail the supervisor's health check and are killed and respawned in a loop",
        ]
      : []),
    "LITELLM_LOCAL_MODEL_COST_MAP=True (documented offline setting); LITELLM_LOG=ERROR (the guide's \"turn off FastAPI's default info logs\")",
  ];
  const managed = startProcess(
    name,
    bin,
    [
      "--config",
      config,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--num_workers",
      String(LITELLM_WORKERS),
      ...(LITELLM_WORKERS > 1 ? ["--timeout_worker_healthcheck", "120"] : []),
    ],
    {
      env: {
        // sovr's Postgres URL (for the sovr-pg target) is not LiteLLM's: with DATABASE_URL set,
        // LiteLLM tries to set up its own database and refuses to start without prisma.
        DATABASE_URL: undefined,
        LITELLM_MASTER_KEY: masterKey,
        LITELLM_LOCAL_MODEL_COST_MAP: "True",
        LITELLM_TELEMETRY: "False",
        LITELLM_LOG: "ERROR",
      },
      logFile: join(logDir, "litellm.log"),
    },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(name, async () => (await get(`${url}/health/liveliness`)) === 200, 240_000, managed);
  } catch (err) {
    await managed.stop("SIGKILL");
    const log = await readFile(managed.logFile, "utf8").catch(() => "");
    const line = log.split("\n").findLast((l) => /error|refused/i.test(l)) ?? "";
    return {
      ok: false,
      name,
      reason: `did not start: ${(err as Error).message} ${line.trim()}`.trim(),
      notes,
    };
  }
  return {
    ok: true,
    name,
    managed,
    version: st.text.replace(/^ok /, ""),
    notes,
    url,
    headers: { authorization: `Bearer ${masterKey}` },
  };
}
