import type { MachineInfo } from "./machine.js";
import type { Cell, Saturation } from "./matrix.js";

/** Markdown sections of docs/benchmarks.md, from one results file. */

export type Pct = { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
export type FixedCell = Cell & {
  overhead_ms: { p50: number | null; p90: number | null; p99: number | null; p999: number | null } | null;
};
type Timing = { ops_per_s: number; p50_us: number; p99_us: number; mean_us: number };
interface AuditFigures {
  database: string;
  saturated: {
    records_per_s: number;
    outstanding: number;
    append_to_durable_ms: Pct;
    transactions: { transactions: number; mean_batch: number; commit_ms: Pct };
  };
  at_fixed_rate: {
    records_per_s: number;
    append_to_durable_ms: Pct;
    transactions: { transactions: number; mean_batch: number; commit_ms: Pct };
  };
}
interface Micro {
  error?: string;
  signing: { record_bytes: number; sign_only: Timing; append_preparation: Timing };
  audit_append: AuditFigures[];
  audit_append_postgres: string;
  merkle: {
    leaves: number;
    build_s: number;
    proof_hashes: number;
    inclusion_proof: Timing;
    inclusion_proof_at_size_999999: Timing;
    verify_inclusion: Timing;
  };
}
interface PolicyEval {
  error?: string;
  bundle?: { revision?: string };
  results: {
    /** "endpoint_ids" (what the router pays) or "inline"; absent in older results (inline). */
    input?: string;
    scenario: string;
    candidates: number;
    allowed: number;
    samples: number;
    wasm_us: { p50: number; p99: number };
    total_us: { p50: number; p90: number; p99: number; max: number };
  }[];
}

export interface Results {
  mode: string;
  machine: MachineInfo;
  duration_s: number;
  systems: Record<string, { version: string; notes: string[]; peak_rss_mib: number | null }>;
  peers: Record<string, { status: string; version?: string; notes: string[] }>;
  targets: {
    id: string;
    label: string;
    kind: "unary" | "stream";
    baseline: string | null;
    reference: boolean;
    system: string;
    client: string;
    /** A variant row (bench/lib/variants.ts) and the rates it ran at; absent in older results. */
    variant?: string;
    rates?: number[];
  }[];
  skipped: { id: string; label: string; reason: string }[];
  fixed: FixedCell[];
  skipped_cells: { target: string; rate: number; reason: string }[];
  saturation: Saturation[];
  micro: Micro | null;
  policy_eval: PolicyEval | null;
  /** bench/local-inference.ts --json (absent in runs before issue 15). */
  local_inference?: {
    error?: string;
    tokens?: number;
    threads?: number;
    results?: { target: string; streams: number; tokens_per_s: number; ttft_p50_ms: number }[];
  } | null;
}

export const f = (x: number | null | undefined, d = 2) =>
  x === null || x === undefined ? "—" : x.toFixed(d);
export const sign = (x: number | null | undefined) =>
  x === null || x === undefined ? "—" : `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;

export function cell(r: Results, target: string, rate: number) {
  return r.fixed.find((c) => c.target === target && c.rate === rate);
}

export function maxRate(r: Results, target: string): number | null {
  return r.saturation.find((s) => s.target === target)?.max_sustainable_rps ?? null;
}

export function sections(r: Results): string[] {
  const out: string[] = [];
  const rates = [...new Set(r.fixed.map((c) => c.rate))].sort((a, b) => a - b);
  out.push("## Latency per target and rate", "");
  out.push(
    "Milliseconds. Overhead columns: target − `direct` (non-streaming) or − `direct-stream` (time to first content chunk). " +
      "CPU s/1k: CPU seconds of the target's own process tree per 1,000 requests (from /proc utime+stime); client: the load generator's. RSS: largest sampled resident set during the cell.",
    "",
  );
  for (const rate of rates) {
    out.push(`### ${rate} req/s`, "");
    out.push(
      "| target | p50 | p90 | p99 | p99.9 | Δp50 | Δp90 | Δp99 | Δp99.9 | errors / sent | CPU s/1k | client CPU s/1k | RSS MiB | other load (cores) |",
    );
    out.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const t of r.targets) {
      const c = cell(r, t.id, rate);
      if (!c) {
        const why = r.skipped_cells.find((s) => s.target === t.id && s.rate === rate)?.reason ?? "not run";
        out.push(`| ${t.id} | ${why} | | | | | | | | | | | | |`);
        continue;
      }
      const l = c.latency_ms;
      const o = c.overhead_ms;
      const errs = c.sent - c.ok;
      out.push(
        `| ${t.id}${t.reference ? " (ref)" : ""} | ${f(l.p50)} | ${f(l.p90)} | ${f(l.p99)} | ${f(l.p999)} | ${sign(o?.p50)} | ${sign(o?.p90)} | ${sign(o?.p99)} | ${sign(o?.p999)} | ${errs} / ${c.sent} | ${f(c.cpu_s_per_1k, 3)} | ${f(c.client_cpu_s_per_1k, 3)} | ${f(c.rss_max_mib, 0)} | ${f(c.other_load_cores)}${c.busy_segments ? ` (${c.busy_segments} of ${c.segments} segments busy)` : ""} |`,
      );
    }
    const errs = r.fixed.filter((c) => c.rate === rate && c.sent > c.ok);
    for (const c of errs)
      out.push(
        "",
        `Errors of ${c.target} at ${rate} req/s: ${Object.entries(c.errors)
          .map(([k, v]) => `${v} × ${k} (“${(c.error_samples[k] ?? "").slice(0, 120)}”)`)
          .join("; ")}`,
      );
    out.push("");
  }

  out.push(
    "## Maximum sustainable rate",
    "",
    "Highest rate with p99 < 50 ms and no errors, found by the search described under *How it is measured*; the steps column lists every step it took, in order, and *stopped because* says how it ended (a maximum the load generator bounded is a lower bound).",
    "",
  );
  out.push(
    "| target | max sustainable req/s | steps (rate: p99 ms, errors) | stopped because |",
    "|---|---:|---|---|",
  );
  for (const s of r.saturation) {
    const steps = s.steps
      .map((x) => `${x.rate}: ${f(x.p99_ms)}${x.errors ? `, ${x.errors} err` : ""}`)
      .join("; ");
    out.push(
      `| ${s.target} | ${s.max_sustainable_rps ?? "< lowest rate"} | ${steps || "—"} | ${s.stopped} |`,
    );
  }
  out.push("");

  out.push(
    "## Systems",
    "",
    "| system | version | peak RSS MiB (VmHWM) | how it ran |",
    "|---|---|---:|---|",
  );
  for (const [name, s] of Object.entries(r.systems))
    out.push(`| ${name} | ${s.version} | ${f(s.peak_rss_mib, 0)} | ${s.notes.join("; ")} |`);
  out.push("", "Peer installs (bench/setup.sh, cache outside the repo) and what became of them:", "");
  for (const [name, p] of Object.entries(r.peers))
    out.push(`- **${name}**${p.version ? ` ${p.version}` : ""}: ${p.status}`);
  out.push("");
  if (r.skipped.length > 0) {
    out.push("Targets not measured in this run:", "");
    for (const s of r.skipped) out.push(`- \`${s.id}\` (${s.label}): ${s.reason}`);
    out.push("");
  }
  out.push(
    "Clients: " +
      [...new Set(r.targets.map((t) => t.client))]
        .map(
          (c) =>
            `${c} (${r.targets
              .filter((t) => t.client === c)
              .map((t) => t.id)
              .join(", ")})`,
        )
        .join("; ") +
      ".",
    "",
  );

  out.push(...microSections(r));
  return out;
}

function localInferenceSection(r: Results): string[] {
  const l = r.local_inference;
  if (!l) return [];
  if (!l.results)
    return [
      "### Local inference (bench/local-inference.ts)",
      "",
      `Not measured: ${l.error ?? "no result"}.`,
      "",
    ];
  const direct = new Map(
    l.results.filter((x) => x.target.startsWith("node-llama-cpp")).map((x) => [x.streams, x]),
  );
  return [
    "### Local inference (bench/local-inference.ts)",
    "",
    `SmolLM2-135M-Instruct Q4_1 in-process, ${l.threads} llama.cpp thread(s), ${l.tokens} tokens per stream: sovr (OpenAI HTTP API, streaming) against node-llama-cpp called directly in the same run. Overhead = tokens/s lost against direct at the same concurrency (goal ≤ 5 %).`,
    "",
    "| target | concurrent streams | tokens/s (all streams) | TTFT p50 ms | tokens/s vs direct |",
    "|---|---:|---:|---:|---:|",
    ...l.results.map((x) => {
      const d = direct.get(x.streams);
      const vs =
        d && d !== x ? `${(((x.tokens_per_s - d.tokens_per_s) / d.tokens_per_s) * 100).toFixed(1)} %` : "—";
      return `| ${x.target} | ${x.streams} | ${x.tokens_per_s} | ${x.ttft_p50_ms} | ${vs} |`;
    }),
    "",
  ];
}

function microSections(r: Results): string[] {
  const out: string[] = ["## Micro-benchmarks", "", ...localInferenceSection(r)];
  const p = r.policy_eval;
  if (p?.results) {
    out.push(
      "### Policy evaluation per request (bench/policy-eval.ts)",
      "",
      "The committed bundle in opa-wasm through `PolicyEngine`; total = what a request pays (pool acquisition, input serialisation, Wasm, decoding).",
      "",
      "| input | scenario | candidates | allowed | total p50 µs | p90 | p99 | max | Wasm p50 µs | Wasm p99 |",
      "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
      ...p.results.map(
        (x) =>
          `| ${x.input ?? "inline"} | ${x.scenario} | ${x.candidates} | ${x.allowed} | ${x.total_us.p50} | ${x.total_us.p90} | ${x.total_us.p99} | ${x.total_us.max} | ${x.wasm_us.p50} | ${x.wasm_us.p99} |`,
      ),
      "",
    );
  } else out.push(`Policy evaluation: ${p?.error ?? "not run"}`, "");
  const m = r.micro;
  if (!m || m.error) return [...out, `Other micro-benchmarks: ${m?.error ?? "not run"}`, ""];
  const t = (x: Timing) => `${x.p50_us} | ${x.p99_us} | ${x.mean_us} | ${x.ops_per_s.toLocaleString("en")}`;
  out.push(
    "### Signing and Merkle proofs",
    "",
    "| operation | p50 µs | p99 µs | mean µs | ops/s |",
    "|---|---:|---:|---:|---:|",
    `| Ed25519 DSSE sign of one decision record (${m.signing.record_bytes} B) | ${t(m.signing.sign_only)} |`,
    `| per-record preparation in AuditLog.append (sign + canonical envelope + leaf hash) | ${t(m.signing.append_preparation)} |`,
    `| Merkle inclusion proof, ${m.merkle.leaves.toLocaleString("en")} leaves (${m.merkle.proof_hashes} hashes) | ${t(m.merkle.inclusion_proof)} |`,
    `| … against tree size 999,999 (non-perfect subtrees hashed) | ${t(m.merkle.inclusion_proof_at_size_999999)} |`,
    `| verify one inclusion proof | ${t(m.merkle.verify_inclusion)} |`,
    "",
    `Building the 1M-leaf tree took ${m.merkle.build_s} s.`,
    "",
    "### Durable audit append (group commit)",
    "",
    "`AuditLog` over `openDatabase`, batch delay 2 ms, at most 512 records per transaction; each record built, encoded and signed as the router does. " +
      "Saturated: 1,024 appends outstanding. At 1,000 records/s: what 500 req/s produces (decision + outcome), open loop. " +
      "append→durable = from `append()` until the record's transaction committed (what a request waits before its prompt may leave).",
    "",
    "| database | load | records/s | transactions | records / txn | commit p50 ms | commit p99 ms | append→durable p50 ms | p99 ms |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const a of m.audit_append) {
    for (const [load, x] of [
      ["saturated", a.saturated],
      ["1,000 records/s", a.at_fixed_rate],
    ] as const) {
      out.push(
        `| ${a.database} | ${load} | ${x.records_per_s.toLocaleString("en")} | ${x.transactions.transactions} | ${x.transactions.mean_batch} | ${f(x.transactions.commit_ms.p50)} | ${f(x.transactions.commit_ms.p99)} | ${f(x.append_to_durable_ms.p50)} | ${f(x.append_to_durable_ms.p99)} |`,
      );
    }
  }
  if (!m.audit_append.some((x) => x.database === "postgres"))
    out.push("", `Postgres: ${m.audit_append_postgres}.`);
  out.push("");
  return out;
}

/** One line per results file: how the headline figures moved between runs (before/after). */
export function runHistory(all: { file: string; r: Results }[]): string[] {
  const out = [
    "## Run history",
    "",
    "| results file | mode | commit | sovr gRPC Δp50 / Δp99 @500 | ChatStream TTFT Δp50 / Δp99 @500 | max req/s sovr / Portkey / LiteLLM |",
    "|---|---|---|---|---|---|",
  ];
  for (const { file, r } of all) {
    const g = cell(r, "sovr-grpc", 500)?.overhead_ms;
    const s = cell(r, "sovr-grpc-stream", 500)?.overhead_ms;
    out.push(
      `| ${file} | ${r.mode} | \`${r.machine.commit.slice(0, 8)}\`${r.machine.dirty ? "+" : ""} | ${sign(g?.p50)} / ${sign(g?.p99)} | ${sign(s?.p50)} / ${sign(s?.p99)} | ${maxRate(r, "sovr-grpc") ?? "—"} / ${maxRate(r, "portkey") ?? "—"} / ${maxRate(r, "litellm") ?? "—"} |`,
    );
  }
  return out;
}
