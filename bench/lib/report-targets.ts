import { cell, type FixedCell, f, maxRate, type Results, sign } from "./report-sections.js";

/**
 * The issue's targets (issue 19 parts 1–7) and where one run stands against them, for
 * docs/benchmarks.md; and the variant rows (detectors, tracing) beside the default ones.
 * Older results lack some fields (CPU per request per thread, variants, RSS per cell): the
 * rows they cannot answer say "not measured".
 */

const ok = (b: boolean | null) => (b === null ? "not measured" : b ? "**met**" : "**not met**");

/** The issue's targets, and where this run stands against them. */
export function headline(r: Results): string[] {
  const rates = [...new Set(r.fixed.map((c) => c.rate))];
  const rate = rates.includes(500) ? 500 : Math.max(...rates);
  // What a request pays: the "endpoint_ids" input form when the benchmark has it (the router's path).
  const policy50 = r.policy_eval?.results?.find(
    (x) =>
      x.candidates === 50 &&
      x.scenario === "all rules active" &&
      (x.input ?? "endpoint_ids") === "endpoint_ids",
  );
  const pglite = r.micro?.audit_append?.find((x) => x.database === "pglite");
  const pg = r.micro?.audit_append?.find((x) => x.database === "postgres");
  const best = (targets: string[]) => {
    const rates = targets.map((t) => ({ t, max: maxRate(r, t) })).filter((x) => x.max !== null);
    return rates.sort((a, b) => b.max! - a.max!)[0];
  };
  // Any of sovr's ways to serve: one process (PGlite), or a worker per core (Postgres, SOVR_WORKERS).
  const sovrBest = best(["sovr-grpc", "sovr-http", "sovr-pgw-grpc", "sovr-pgw-http"]);
  const sovrMax = sovrBest?.max ?? null;
  const portkeyMax = maxRate(r, "portkey");
  const clean = (c?: FixedCell) => (c ? c.ok === c.sent : false);
  const why = (target: string) => {
    const sk = r.skipped_cells.find((x) => x.target === target && x.rate === rate);
    return sk ? `not run: ${sk.reason}` : "—";
  };
  // A target too overloaded to be run at this rate has not met a latency goal at it.
  const missing = (target: string) => (why(target).includes("overloaded") ? ok(false) : ok(null));
  /** One goal on one target's overhead percentile at this rate. */
  const goal = (what: string, target: string, label: string, pct: "p50" | "p99", limit: number) => {
    const c = cell(r, target, rate);
    const v = c?.overhead_ms?.[pct];
    return [
      `${what} (${label})`,
      `≤ ${limit} ms`,
      v !== undefined && v !== null ? `${sign(v)} ms` : why(target),
      v !== undefined && v !== null ? ok(v <= limit && clean(c)) : missing(target),
    ];
  };
  const rows = [
    goal("overhead p50, non-streaming", "sovr-grpc", "gRPC Chat", "p50", 1),
    goal("overhead p50, non-streaming", "sovr-http", "OpenAI HTTP", "p50", 1),
    goal("overhead p99, non-streaming", "sovr-grpc", "gRPC Chat", "p99", 5),
    goal("overhead p99, non-streaming", "sovr-http", "OpenAI HTTP", "p99", 5),
    goal("TTFT overhead p50", "sovr-grpc-stream", "gRPC ChatStream", "p50", 2),
    goal("TTFT overhead p50", "sovr-http-stream", "OpenAI HTTP SSE", "p50", 2),
    goal("TTFT overhead p99", "sovr-grpc-stream", "gRPC ChatStream", "p99", 6),
    goal("TTFT overhead p99", "sovr-http-stream", "OpenAI HTTP SSE", "p99", 6),
    [
      "max sustainable rate vs Portkey (same run)",
      "≥ 2×",
      `${sovrMax ?? "—"}${sovrBest ? ` (${sovrBest.t})` : ""} vs ${portkeyMax ?? "—"} req/s`,
      sovrMax !== null && portkeyMax !== null ? ok(sovrMax >= 2 * portkeyMax) : ok(null),
    ],
    ...cpuRows(r, rate),
    ...rssRows(r, rate),
    [
      "policy evaluation p99, 50 candidates",
      "≤ 100 µs",
      policy50 ? `${policy50.total_us.p99} µs` : "—",
      policy50 ? ok(policy50.total_us.p99 <= 100) : ok(null),
    ],
    [
      "durable records/s (PGlite)",
      "≥ 5,000",
      pglite ? `${pglite.saturated.records_per_s}` : "—",
      pglite ? ok(pglite.saturated.records_per_s >= 5000) : ok(null),
    ],
    [
      "durable records/s (Postgres)",
      "≥ 5,000",
      pg ? `${pg.saturated.records_per_s}` : "—",
      pg ? ok(pg.saturated.records_per_s >= 5000) : ok(null),
    ],
    pgRateRow(r),
  ];
  return [
    `## Against the targets (${rate} req/s, this run)`,
    "",
    "| target | goal | measured | |",
    "|---|---|---|---|",
    ...rows.map((x) => `| ${x.join(" | ")} |`),
    "",
    ...lowestRate(r),
    "Overhead = latency through the target − latency direct to the same simulator, same rate, same run, per percentile. " +
      'A saturation step or rate "passes" when p99 < 50 ms with no errors.',
  ];
}

/** The same overheads at the lowest rate, where every target ran: for orientation when 500 req/s could not be. */
function lowestRate(r: Results): string[] {
  const rate = Math.min(...r.fixed.map((c) => c.rate));
  const row = (id: string) => {
    const c = cell(r, id, rate);
    return c?.overhead_ms ? `${id} ${sign(c.overhead_ms.p50)} / ${sign(c.overhead_ms.p99)} ms` : undefined;
  };
  const parts = r.targets
    .filter((t) => t.baseline && !t.reference && !t.variant)
    .map((t) => row(t.id))
    .filter(Boolean);
  return parts.length ? [`At ${rate} req/s (overhead p50 / p99): ${parts.join("; ")}.`, ""] : [];
}

/** CPU ms per request (= CPU s per 1k) of sovr's process tree, both APIs, and gRPC against HTTP. */
function cpuRows(r: Results, rate: number): string[][] {
  const cpu = (id: string) => cell(r, id, rate)?.cpu_s_per_1k ?? null;
  const one = (id: string, label: string) => {
    const v = cpu(id);
    return [
      `CPU per request (${label})`,
      "≤ 0.9 ms",
      v === null ? "—" : `${f(v, 3)} ms`,
      v === null ? ok(null) : ok(v <= 0.9),
    ];
  };
  const vs = (g: string, h: string, label: string) => {
    const [x, y] = [cpu(g), cpu(h)];
    return [
      `gRPC CPU ≤ HTTP CPU (${label})`,
      "gRPC ≤ HTTP",
      x === null || y === null ? "—" : `${f(x, 3)} vs ${f(y, 3)} ms`,
      x === null || y === null ? ok(null) : ok(x <= y),
    ];
  };
  return [
    one("sovr-grpc", "gRPC Chat"),
    one("sovr-http", "OpenAI HTTP"),
    vs("sovr-grpc", "sovr-http", "non-streaming"),
    vs("sovr-grpc-stream", "sovr-http-stream", "streaming"),
  ];
}

/** Largest RSS of sovr's process tree sampled under load at this rate (PGlite; Postgres). */
function rssRows(r: Results, rate: number): string[][] {
  const under = (system: string) => {
    const ids = new Set(r.targets.filter((t) => t.system === system && !t.variant).map((t) => t.id));
    const v = r.fixed.filter((c) => ids.has(c.target) && c.rate === rate).map((c) => c.rss_max_mib);
    const known = v.filter((x): x is number => x !== null && x !== undefined);
    return known.length ? Math.max(...known) : null;
  };
  const row = (system: string, label: string, limit: number) => {
    const v = under(system);
    return [
      `RSS under load (${label})`,
      `≤ ${limit} MiB`,
      v === null ? "—" : `${f(v, 0)} MiB`,
      v === null ? ok(null) : ok(v <= limit),
    ];
  };
  return [row("sovr", "PGlite", 250), row("sovr-pg", "Postgres", 150)];
}

/** The Postgres target's maximum sustainable rate against PGlite's (gRPC Chat, same run). */
function pgRateRow(r: Results): string[] {
  const [pg, lite] = [maxRate(r, "sovr-pg-grpc"), maxRate(r, "sovr-grpc")];
  return [
    "Postgres max rate vs PGlite (gRPC Chat)",
    "within 20 %",
    `${pg ?? "—"} vs ${lite ?? "—"} req/s`,
    pg === null || lite === null ? ok(null) : ok(pg >= 0.8 * lite),
  ];
}

/**
 * The variant rows (bench/lib/variants.ts) beside the default ones at the same rate: what the
 * content detectors and tracing add to latency and CPU per request.
 */
export function variantsSection(r: Results): string[] {
  const vs = r.targets.filter((t) => t.variant);
  if (vs.length === 0) return [];
  const rate = Math.max(...vs.flatMap((t) => t.rates ?? []), 0);
  const row = (id: string, variant: string) => {
    const c = cell(r, id, rate);
    if (!c) {
      const why = r.skipped_cells.find((x) => x.target === id && x.rate === rate)?.reason ?? "not run";
      return `| ${id} | ${variant} | ${why} | | | |`;
    }
    return `| ${id} | ${variant} | ${sign(c.overhead_ms?.p50)} | ${sign(c.overhead_ms?.p99)} | ${f(c.cpu_s_per_1k, 3)} | ${c.sent - c.ok} / ${c.sent} |`;
  };
  const defaults = ["sovr-grpc", "sovr-http"].filter((id) => r.targets.some((t) => t.id === id));
  return [
    `## Features switched on (${rate} req/s)`,
    "",
    "sovr's default rows beside the same calls with a feature changed, same run, same rate (non-streaming). " +
      "Content detectors are on by default: the `-1k` rows send a 1 KB prompt for them to read, and `sovr-nodet` is a second sovr with `SOVR_CONTENT_DETECTORS=off`; " +
      "`sovr-otel` is a third with tracing on (OTLP to a local sink process, every request sampled).",
    "",
    "| target | variant | Δp50 ms | Δp99 ms | CPU ms / request | errors / sent |",
    "|---|---|---:|---:|---:|---:|",
    ...defaults.map((id) => row(id, "default features, short prompt")),
    ...vs.map((t) => row(t.id, t.variant!)),
    "",
  ];
}
