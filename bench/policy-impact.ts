/**
 * Policy impact's throughput (docs/policies.md §10): decisions replayed per second under a
 * draft bundle, end to end through AuditService.PolicyImpact on a real app (PGlite; Postgres
 * too when DATABASE_URL is set). The log is filled with real decisions first (requests through
 * `Router.stream` to the in-process simulator: a third region eu, a third us, a third with no
 * region); the draft (the shipped policies plus a rule barring sim-eu) flips some of them.
 * Runs: every decision, then `sample` 0.1. Prints JSON.
 *
 * Run: node --import tsx bench/policy-impact.ts [--decisions N]
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApp } from "../src/app/index.js";
import { auditClient } from "../src/cli/audit-commands.js";
import { loadConfig } from "../src/config/config.js";
import { buildPolicyBundle } from "../src/policy/index.js";
import { startSimulator } from "../src/simulator/index.js";
import { createLogger } from "../src/telemetry/index.js";
import { machineInfo } from "./lib/machine.js";
import { scratchDatabase } from "./lib/scratch-db.js";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const DECISIONS = Number(arg("--decisions") ?? 5000);
const REPO = join(import.meta.dirname, "..");

const BAR_EU = `package sovereign.route

deny[ep.id] contains "bench_bar_eu: sim-eu is barred" if {
	some ep in input.endpoints
	ep.provider == "sim-eu"
}
`;

async function draftBundle(dir: string): Promise<Uint8Array> {
  const src = join(dir, "policies");
  await cp(join(REPO, "policies"), src, { recursive: true, filter: (p) => !p.includes("/dist") });
  await writeFile(join(src, "bench_bar.rego"), BAR_EU);
  const built = await buildPolicyBundle({ sourceDir: src, outFile: join(dir, "draft.tar.gz") });
  return new Uint8Array(await readFile(built.outFile));
}

async function measure(database: "pglite" | "postgres", draft: Uint8Array, simulatorUrl: string) {
  const dir = await mkdtemp(join(tmpdir(), "sovr-bench-impact-"));
  const scratch =
    database === "postgres" ? await scratchDatabase(process.env.DATABASE_URL!, "impact") : undefined;
  const config = loadConfig({
    SOVR_DATA_DIR: dir,
    SOVR_GRPC_PORT: "0",
    SOVR_HTTP_PORT: "0",
    SOVR_AUTH: "off",
    SOVR_LOG_LEVEL: "silent",
    SOVR_CATALOG_WATCH: "off",
    SOVR_CATALOG_DIR: join(import.meta.dirname, "../test/fixtures/catalog"),
    SOVR_LOCAL_PROBE_MS: "0",
    SOVR_SIMULATOR_URL: simulatorUrl,
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
  });
  const app = await startApp(config, { logger: createLogger("silent"), announceDevKey: () => {} });
  try {
    const regions = ["eu", "us", null] as const;
    const principal = {
      tenant: "bench",
      workload: "",
      roles: ["client" as const],
      keyId: "",
      allTenants: false,
    };
    const seeded = performance.now();
    const one = async (i: number) => {
      const req = {
        model: "sim/chat-small",
        models: [],
        messages: [{ role: "user" as const, content: `impact ${i}` }],
        provider: { allowFallbacks: true },
        region: regions[i % 3]!,
        labels: {},
        workload: "",
        maxTokens: 16,
      };
      try {
        for await (const _ of app.router.stream(req, principal));
      } catch {
        // Denied requests are recorded too; that is all the bench needs of them.
      }
    };
    for (let i = 0; i < DECISIONS; i += 50)
      await Promise.all(Array.from({ length: 50 }, (_, k) => one(i + k)));
    await app.audit.drain();
    const seedSeconds = (performance.now() - seeded) / 1000;

    const client = auditClient({ url: app.httpUrl });
    const run = async (sample: number) => {
      const started = performance.now();
      let summary: unknown;
      let replayed = 0;
      for await (const m of client.policyImpact({
        bundle: draft,
        startTime: { seconds: BigInt(Math.floor(Date.now() / 1000) - 86_400) },
        limit: 1_000_000,
        sample,
      })) {
        replayed = Number(m.replayed);
        if (m.summary) summary = m.summary;
      }
      const seconds = (performance.now() - started) / 1000;
      const s = summary as { allowedToDenied: bigint; deniedToAllowed: bigint; unchanged: bigint };
      return {
        sample,
        replayed,
        seconds: Math.round(seconds * 100) / 100,
        decisions_per_second: Math.round(replayed / seconds),
        allowed_to_denied: Number(s.allowedToDenied),
        denied_to_allowed: Number(s.deniedToAllowed),
        unchanged: Number(s.unchanged),
      };
    };
    await run(0.01); // warm-up: the draft's engine and the catalog revision
    return {
      database,
      seeded: DECISIONS,
      seed_seconds: Math.round(seedSeconds),
      runs: [await run(1), await run(0.1)],
    };
  } finally {
    await app.stop();
    await rm(dir, { recursive: true, force: true });
    await scratch?.drop();
  }
}

const work = await mkdtemp(join(tmpdir(), "sovr-bench-impact-draft-"));
const simulator = await startSimulator();
try {
  const draft = await draftBundle(work);
  const results = [await measure("pglite", draft, simulator.url)];
  if (process.env.DATABASE_URL) results.push(await measure("postgres", draft, simulator.url));
  console.log(JSON.stringify({ machine: machineInfo(), decisions: DECISIONS, results }, null, 2));
} finally {
  await simulator.close();
  await rm(work, { recursive: true, force: true });
}
