import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveOpaBin } from "../../src/policy/opa-bin.js";
import { REPO } from "../support/app.js";
import { fencedBlocks, type ShellCommand, shellCommands } from "../support/fenced-blocks.js";
import { type ServeProcess, spawnServe, untilServing } from "../support/serve-process.js";

/**
 * The ```sh examples of README.md and docs/*.md, run with bash as a reader would paste them,
 * against the real `sovr serve` with its defaults (shipped catalog and bundle, built-in
 * simulator, API-key auth on), on free ports. Every command is either run here, with an
 * assertion on what it printed, or listed in EXAMPLES with the reason it is not: a new or
 * changed example without an entry fails the first test.
 */

const run = promisify(execFile);
const DOCS = ["README.md", ...readdirSync(join(REPO, "docs")).map((f) => `docs/${f}`)]
  .filter((f) => f.endsWith(".md"))
  .map((f) => join(REPO, f));

/** What a command printed (stdout) and where it ran, for its assertion. */
interface Ran {
  readonly out: string;
  readonly cwd: string;
}

type Example =
  | { key: string; check: (ran: Ran) => void | Promise<void>; cwd?: "scratch"; timeoutMs?: number }
  | { key: string; skip: string };

/** grpcurl prints each message as indented JSON, one after another. */
function messages(out: string): Record<string, unknown>[] {
  return out
    .split(/^}$/m)
    .filter((chunk) => chunk.trim() !== "")
    .map((chunk) => JSON.parse(`${chunk}}`) as Record<string, unknown>);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SERVE_INSTEAD =
  "this test starts the same `sovr serve` with the same defaults on free ports, and runs the examples against it";
const REWRITES_BUNDLE =
  "rewrites the committed policies/dist/bundle.tar.gz; the `--check` form below builds the same bundle and compares";

/**
 * Each entry's `key` (whitespace collapsed) must occur in exactly one example command, and
 * each command must be matched by exactly one entry.
 */
const EXAMPLES: Example[] = [
  // README.md
  {
    key: "npm install && npm start",
    skip: `installs packages and serves on the fixed ports until stopped; ${SERVE_INSTEAD}`,
  },
  {
    key: "sovereign.v1.RouterService/ChatStream",
    check: ({ out }) => {
      const msgs = messages(out);
      const route = msgs[0]?.route as { decisionId: string; endpointId: string };
      expect(route.decisionId).toMatch(UUID);
      expect(route.endpointId).toBe("sim-eu/chat-small"); // region eu: only the EU endpoint
      const deltas = msgs.filter((m) => m.delta).map((m) => (m.delta as { content?: string }).content ?? "");
      expect(deltas.join("").length).toBeGreaterThan(0);
      const finish = msgs.at(-1)?.finish as { finishReason: string; usage: { totalTokens: number } };
      expect(finish.finishReason).toBe("stop");
      expect(finish.usage.totalTokens).toBeGreaterThan(0);
    },
  },
  {
    key: '{"request":{"model":"sim/chat-small","provider":{"zdr":true}}}\' 127.0.0.1:50051 sovereign.v1.RouterService/Explain',
    check: ({ out }) => {
      const [answer] = messages(out);
      const decision = answer?.decision as {
        candidates: { endpointId: string; eligible?: boolean; exclusions?: { reason: string }[] }[];
        plan: string[];
      };
      const byId = new Map(decision.candidates.map((c) => [c.endpointId, c]));
      expect(byId.get("sim-eu/chat-small")?.eligible).toBe(true);
      const excluded = decision.candidates.filter((c) => !c.eligible);
      expect(excluded.length).toBeGreaterThan(0); // zdr keeps the simulator's other endpoints out
      for (const c of excluded) expect(c.exclusions?.[0]?.reason).toMatch(/^zdr: .+ \(source: \w+\)$/);
      expect(decision.plan).toEqual(["sim-eu/chat-small"]);
    },
  },
  {
    key: "sovr models pull smollm2",
    skip: "downloads a 98 MB model into ./data; scripts/install-local-model.sh runs the same pull into the test cache",
  },
  { key: "SOVR_LOCATION=DE npm start", skip: SERVE_INSTEAD },
  {
    key: '{"request":{"model":"local/smollm2-135m-instruct"',
    skip: "needs the pulled model and SOVR_LOCATION; test/e2e/local-inference.test.ts runs this Explain (zdr, region eu) and checks the local endpoint is eligible and planned",
  },
  {
    key: '"model":"local/smollm2-135m-instruct","provider":{"zdr":true},"region":"eu"',
    skip: "needs the pulled model and SOVR_LOCATION; test/e2e/local-inference.test.ts sends this request (zdr, region eu) with the openai SDK",
  },
  {
    key: "127.0.0.1:50051 list",
    check: ({ out }) => {
      const services = out.trim().split("\n");
      expect(services).toContain("sovereign.v1.RouterService");
      expect(services).toContain("grpc.health.v1.Health");
    },
  },
  {
    key: "grpc.health.v1.Health/Check",
    check: ({ out }) => expect(messages(out)).toEqual([{ status: "SERVING" }]),
  },
  { key: "/healthz", check: ({ out }) => expect(out.trim()).toBe("ok") },
  { key: "/readyz", check: ({ out }) => expect(JSON.parse(out)).toMatchObject({ ready: true }) },
  {
    key: "/metrics | head",
    check: ({ out }) => {
      const lines = out.trimEnd().split("\n");
      expect(lines).toHaveLength(10);
      expect(lines[0]).toMatch(/^# HELP sovr_/);
    },
  },
  {
    key: '/v1/chat/completions -H "authorization: Bearer $SOVR_KEY" -H \'content-type: application/json\' -d \'{"model":"sim/chat-small"',
    check: ({ out }) => {
      const body = JSON.parse(out) as {
        id: string;
        provider: string;
        choices: { message: { content: string } }[];
      };
      expect(body.id).toMatch(/^chatcmpl-/);
      expect(body.provider).toBe("sim-eu"); // zdr: only the EU endpoint retains nothing
      expect(body.choices[0]?.message.content.length).toBeGreaterThan(0);
    },
  },
  { key: "npm test", skip: "the whole suite, this file included; CI runs it (.ci/run)" },
  // docs/policies.md §4–§6
  {
    key: "scripts/install-opa.sh",
    check: ({ out }) => {
      if (!process.env.SOVR_OPA_BIN) expect(out).toMatch(/^opa [\d.]+ (already )?installed at /m);
    },
  },
  {
    key: "opa test policies/ --ignore dist -v",
    check: ({ out }) => {
      expect(out).toMatch(/^PASS: (\d+)\/\1$/m);
      expect(out).not.toMatch(/FAIL/);
    },
  },
  {
    key: "opa test policies/ --ignore dist --coverage",
    check: ({ out }) => expect((JSON.parse(out) as { coverage: number }).coverage).toBeGreaterThan(50),
  },
  {
    key: "opa fmt -w policies/",
    skip: "rewrites the working tree; its read-only form `opa fmt -l` runs below (and in CI)",
  },
  { key: "opa fmt -l policies/", check: ({ out }) => expect(out).toBe("") },
  { key: "npm run policy:build", skip: REWRITES_BUNDLE },
  { key: "npx tsx src/policy/bundle-build.ts # the same", skip: REWRITES_BUNDLE },
  {
    key: "npx tsx src/policy/bundle-build.ts --check",
    timeoutMs: 60_000,
    check: ({ out }) => expect(JSON.parse(out)).toMatchObject({ fresh: true }),
  },
  {
    key: "openssl genpkey -algorithm ed25519 -out policy-signing.pem",
    cwd: "scratch",
    check: async ({ cwd }) =>
      expect(await readFile(join(cwd, "policy-signing.pem"), "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/),
  },
  {
    key: "openssl pkey -in policy-signing.pem -pubout",
    cwd: "scratch",
    check: async ({ cwd }) =>
      expect(await readFile(join(cwd, "policy-signing.pub.pem"), "utf8")).toMatch(
        /^-----BEGIN PUBLIC KEY-----/,
      ),
  },
  {
    key: "sovr policy build --signing-key policy-signing.pem",
    skip: "writes a signed bundle over the committed one; signing is tested in src/policy/bundle.test.ts",
  },
  {
    key: "--signing-alg ES256",
    skip: "writes a signed bundle over the committed one, with a P-256 key the guide does not make; tested in src/policy/bundle.test.ts",
  },
  // docs/security.md §TLS: settings, not commands
  ...[
    "SOVR_TLS_CERT=",
    "SOVR_TLS_KEY=",
    "SOVR_TLS_CA=",
    "SOVR_HTTP_TLS=",
    "SOVR_HTTP_TLS_CA=",
    "SOVR_TLS_RELOAD_MS=",
  ].map((key) => ({
    key,
    skip: "a setting naming files on a deployment host, not a command; TLS and mTLS are tested in test/tls.test.ts",
  })),
];

const collapse = (s: string) => s.replace(/\s+/g, " ");
const commands = DOCS.flatMap((file) => fencedBlocks(file, "sh").flatMap(shellCommands));
const where = (c: ShellCommand) => `${c.file.slice(REPO.length + 1)}:${c.line}`;
const entryOf = (c: ShellCommand) => EXAMPLES.filter((e) => collapse(c.command).includes(e.key));

let serve: ServeProcess | undefined;
let scratch: string;
let dataDir: string;
let devKey: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "sovr-docs-examples-"));
  dataDir = join(scratch, "data");
  serve = await untilServing(spawnServe({ SOVR_DATA_DIR: dataDir, SOVR_AUTH: "on" }));
  // The README tells the reader to copy this line from the first start's output.
  const line = /^ {4}export SOVR_KEY=(\S+)$/m.exec(serve.out());
  if (!line?.[1]) throw new Error(`sovr serve printed no development key:\n${serve.out()}`);
  devKey = line[1];
});

afterAll(async () => {
  if (serve?.proc.exitCode === null) {
    serve.proc.kill("SIGTERM");
    await serve.exited;
  }
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs one example with bash, as written but for the server's addresses and tool paths. */
async function runExample(c: ShellCommand, cwd: string): Promise<Ran> {
  if (!serve) throw new Error("server not started");
  const command = c.command
    .replaceAll("127.0.0.1:50051", serve.grpcAddress)
    .replaceAll("http://127.0.0.1:8080", serve.httpUrl)
    .replaceAll(".tools/bin/opa", resolveOpaBin());
  const local = join(REPO, ".tools", "bin", "grpcurl");
  const grpcurl = process.env.SOVR_GRPCURL_BIN ?? (existsSync(local) ? local : "grpcurl");
  // `command` so that a grpcurl found on PATH is not this function calling itself.
  const prelude = 'grpcurl() { command "$SOVR_DOCS_GRPCURL" "$@"; }\n';
  try {
    const { stdout } = await run("bash", ["-c", prelude + command], {
      cwd,
      env: { ...process.env, SOVR_KEY: devKey, SOVR_DOCS_GRPCURL: grpcurl },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { out: stdout, cwd };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`${where(c)}: \`${command}\` exited ${e.code}\n${e.stderr ?? ""}${e.stdout ?? ""}`);
  }
}

describe("shell examples in README.md and docs/*.md", () => {
  it("are each run below or skipped with a reason, and every entry names one example", () => {
    expect(commands.length).toBeGreaterThan(0);
    const unmatched = commands.filter((c) => entryOf(c).length !== 1).map((c) => `${where(c)}: ${c.command}`);
    expect(unmatched, "commands with no entry (or several) in EXAMPLES").toEqual([]);
    const stale = EXAMPLES.filter(
      (e) => commands.filter((c) => collapse(c.command).includes(e.key)).length !== 1,
    );
    expect(
      stale.map((e) => e.key),
      "EXAMPLES entries matching no command (or several)",
    ).toEqual([]);
  });

  for (const c of commands) {
    const [entry] = entryOf(c);
    const name = `${where(c)}: ${c.command}`;
    if (!entry || "skip" in entry) {
      it.skip(`${name} — skipped: ${entry?.skip ?? "no entry"}`, () => {});
      continue;
    }
    it(name, { timeout: entry.timeoutMs ?? 30_000 }, async () => {
      await entry.check(await runExample(c, entry.cwd === "scratch" ? scratch : REPO));
    });
  }
});
