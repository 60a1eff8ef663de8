/**
 * `npm run bench:local`: local inference (issue 15) — tokens/s and time to first token of the
 * real SmolLM2-135M model through sovr (OpenAI HTTP API, streaming) against node-llama-cpp called
 * directly, in the same run, same threads and slots, at 1, 2 and 4 concurrent streams.
 *
 *   tsx bench/local-inference.ts [--tokens 128] [--rounds 3] [--threads 1] [--json]
 *
 * The model comes from scripts/install-local-model.sh (SOVR_TEST_MODEL_DIR). Prints a Markdown
 * table, or with --json the figures that `npm run bench` (bench/run.ts) keeps in its results
 * and docs/benchmarks.md shows.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { getLlama, LlamaChat } from "node-llama-cpp";
import OpenAI from "openai";
import { startApp } from "../src/app/index.js";
import { loadConfig } from "../src/config/index.js";
import { createLogger } from "../src/telemetry/index.js";
import { TEST_MODEL, testModelPath } from "../test/support/local-model.js";

const { values } = parseArgs({
  options: {
    tokens: { type: "string", default: "128" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
  },
});
const TOKENS = Number(values.tokens);
const ROUNDS = Number(values.rounds);
const THREADS = Number(values.threads);
const LEVELS = [1, 2, 4];
const PROMPT = "Write a short story about a lighthouse keeper.";

interface Sample {
  ttftMs: number;
  tokens: number;
  totalMs: number;
}

/** One stream's figures: time to first text, completion tokens, total time. */
type Runner = () => Promise<Sample>;

async function measure(run: Runner, concurrency: number): Promise<{ ttft: number; tps: number }> {
  const samples: Sample[] = [];
  let wall = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    samples.push(...(await Promise.all(Array.from({ length: concurrency }, run))));
    wall += performance.now() - start;
  }
  const ttfts = samples.map((s) => s.ttftMs).sort((a, b) => a - b);
  const tokens = samples.reduce((n, s) => n + s.tokens, 0);
  // Aggregate tokens/s: every stream's tokens over the wall time of the rounds.
  return { ttft: ttfts[Math.floor(ttfts.length / 2)]!, tps: (tokens / wall) * 1000 };
}

async function direct(): Promise<{ runner: Runner; close: () => Promise<void> }> {
  const llama = await getLlama({ build: "never", gpu: false, maxThreads: THREADS, logger: () => {} });
  const model = await llama.loadModel({ modelPath: testModelPath(), gpuLayers: 0 });
  const context = await model.createContext({ sequences: 4, contextSize: 1024, threads: THREADS });
  const free = Array.from({ length: 4 }, () => context.getSequence());
  // The chat template resolved once, as the adapter does (resolving it costs ~300 ms a chat).
  const probe = new LlamaChat({ contextSequence: free[0]! });
  const chatWrapper = probe.chatWrapper;
  probe.dispose({ disposeSequence: false });
  const runner: Runner = async () => {
    const sequence = free.pop()!;
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper });
    const start = performance.now();
    let first = 0;
    const meter = sequence.tokenMeter.getState();
    await chat.generateResponse(
      [
        { type: "user", text: PROMPT },
        { type: "model", response: [] },
      ],
      {
        maxTokens: TOKENS,
        temperature: 0,
        onTextChunk: () => {
          first ||= performance.now();
        },
      },
    );
    const tokens = sequence.tokenMeter.diff(meter).usedOutputTokens;
    chat.dispose({ disposeSequence: false });
    free.push(sequence);
    return { ttftMs: first - start, tokens, totalMs: performance.now() - start };
  };
  return { runner, close: () => llama.dispose() };
}

async function viaSovr(): Promise<{ runner: Runner; close: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), "sovr-bench-local-"));
  const config = loadConfig({
    SOVR_GRPC_PORT: "0",
    SOVR_HTTP_PORT: "0",
    SOVR_SIMULATOR: "off",
    SOVR_AUTH: "off",
    SOVR_DATA_DIR: dataDir,
    SOVR_CATALOG_DIR: "test/fixtures/catalog",
    SOVR_MODELS_DIR: join(testModelPath(), ".."),
    SOVR_LOCATION: "DE",
    SOVR_LOCAL_THREADS: String(THREADS),
    SOVR_LOCAL_SLOTS: "4",
    SOVR_LOG_LEVEL: "silent",
  });
  const app = await startApp(config, { logger: createLogger("silent") });
  const openai = new OpenAI({ baseURL: `${app.httpUrl}/v1`, apiKey: "unused", maxRetries: 0 });
  const runner: Runner = async () => {
    const start = performance.now();
    let first = 0;
    let tokens = 0;
    const stream = await openai.chat.completions.create({
      model: TEST_MODEL,
      messages: [{ role: "user", content: PROMPT }],
      max_tokens: TOKENS,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) first ||= performance.now();
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
    return { ttftMs: first - start, tokens, totalMs: performance.now() - start };
  };
  return {
    runner,
    close: async () => {
      await app.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const rows: string[] = [];
const figures: { target: string; streams: number; tokens_per_s: number; ttft_p50_ms: number }[] = [];
for (const [name, make] of [
  ["node-llama-cpp direct", direct],
  ["sovr (HTTP, streaming)", viaSovr],
] as const) {
  const target = await make();
  await target.runner(); // warm: model load, first context
  for (const c of LEVELS) {
    const m = await measure(target.runner, c);
    rows.push(`| ${name} | ${c} | ${m.tps.toFixed(1)} | ${m.ttft.toFixed(0)} |`);
    figures.push({
      target: name,
      streams: c,
      tokens_per_s: Math.round(m.tps * 10) / 10,
      ttft_p50_ms: Math.round(m.ttft),
    });
    console.error(rows.at(-1));
  }
  await target.close();
}
if (values.json)
  console.log(
    JSON.stringify({ model: TEST_MODEL, threads: THREADS, tokens: TOKENS, rounds: ROUNDS, results: figures }),
  );
else
  console.log(
    [
      `SmolLM2-135M-Instruct Q4_1, ${THREADS} llama.cpp thread(s), ${TOKENS} tokens per stream, ${ROUNDS} rounds per level, temperature 0.`,
      "",
      "| target | concurrent streams | tokens/s (all streams) | TTFT p50 ms |",
      "|---|---:|---:|---:|",
      ...rows,
    ].join("\n"),
  );
