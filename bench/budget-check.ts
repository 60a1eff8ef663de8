/**
 * The budget check's cost on the hot path (docs/budgets.md): a real app in process (the
 * simulator as upstream, answering at once), requests one at a time through `Router.stream`,
 * timed from the call to the route event — decision, durable record (with the reservation when
 * a budget applies), first token — for a tenant without budgets and one with a day and a month
 * budget on the tenant and on its key (four windows checked and charged). Blocks of the two
 * alternate so drift hits both. Also the settlement's cost is in the outcome's commit, off the
 * caller's path. Prints JSON; µs.
 *
 * Run: node --import tsx bench/budget-check.ts [--requests N]   (Postgres too when DATABASE_URL is set)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp } from "../src/app/index.js";
import { loadConfig } from "../src/config/config.js";
import { createLogger } from "../src/telemetry/index.js";
import { scratchDatabase } from "./lib/scratch-db.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const REQUESTS = Number(arg("--requests") ?? 2000);
const BLOCK = 100;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 1000);
};

async function measure(database: "pglite" | "postgres") {
  const dir = await mkdtemp(join(tmpdir(), "sovr-bench-budget-"));
  const scratch =
    database === "postgres" ? await scratchDatabase(process.env.DATABASE_URL!, "budget") : undefined;
  const config = loadConfig({
    SOVR_DATA_DIR: dir,
    SOVR_GRPC_PORT: "0",
    SOVR_HTTP_PORT: "0",
    SOVR_AUTH: "off",
    SOVR_LOG_LEVEL: "silent",
    SOVR_CATALOG_WATCH: "off",
    SOVR_CATALOG_DIR: join(import.meta.dirname, "../test/fixtures/catalog"),
    SOVR_LOCAL_PROBE_MS: "0",
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
  });
  const app = await startApp(config, { logger: createLogger("silent"), announceDevKey: () => {} });
  try {
    for (const period of ["day", "month"] as const) {
      await app.budgets.set({ tenant: "budgeted", keyId: "", period, usdMicros: 1e15, tokens: 1e15 });
      await app.budgets.set({ tenant: "budgeted", keyId: "k1", period, usdMicros: 1e15, tokens: 1e15 });
    }
    const req = {
      model: "sim/chat-small",
      models: [],
      messages: [{ role: "user" as const, content: "hello there" }],
      provider: { allowFallbacks: true, only: ["sim-eu"] },
      region: null,
      labels: {},
      workload: "",
      maxTokens: 16,
    };
    const one = async (tenant: string) => {
      const principal = { tenant, workload: "", roles: ["client" as const], keyId: "k1", allTenants: false };
      const start = performance.now();
      let routed = 0;
      for await (const ev of app.router.stream(req, principal))
        if (ev.type === "route") routed = performance.now();
      return routed - start;
    };
    const samples = { without: [] as number[], with: [] as number[] };
    for (let i = 0; i < 200; i++) await one(i % 2 ? "plain" : "budgeted"); // warm-up
    for (let done = 0; done < REQUESTS; done += BLOCK) {
      for (let i = 0; i < BLOCK; i++) samples.without.push(await one("plain"));
      for (let i = 0; i < BLOCK; i++) samples.with.push(await one("budgeted"));
    }
    await app.audit.drain();
    const summary = (xs: number[]) => ({ p50_us: pct(xs, 50), p99_us: pct(xs, 99), n: xs.length });
    return { database, without_budget: summary(samples.without), with_budget: summary(samples.with) };
  } finally {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
    await scratch?.drop();
  }
}

const results = [await measure("pglite")];
if (process.env.DATABASE_URL) results.push(await measure("postgres"));
console.log(JSON.stringify({ requests_each: REQUESTS, results }, null, 2));
