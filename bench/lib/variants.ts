import { join } from "node:path";
import { request } from "undici";
import { httpPool, httpUnary, MODEL, promptOfBytes } from "./clients.js";
import { H2Sessions, h2Chat } from "./grpc-h2.js";
import { freePort, type Managed, startProcess, waitFor } from "./procs.js";
import { type SovrStarted, startSovr } from "./systems.js";
import { closePool, type Target } from "./targets.js";

/**
 * The variant rows beside sovr's default ones (issue 19 part 2: "the report adds rows with
 * content detectors and tracing switched on"), at one rate (500 req/s in the full run):
 * - `sovr-*-1k`: the default sovr (content detectors on, the default) with a 1 KB prompt, text
 *   the detectors must read (BENCH_VARIANT_PROMPT_BYTES, default 1024);
 * - `sovr-nodet-*-1k`: a second sovr with SOVR_CONTENT_DETECTORS=off, same prompt: the
 *   difference is what the detectors cost;
 * - `sovr-otel-*`: a third sovr with tracing on (OTLP/HTTP to a local sink process, every
 *   request sampled), default prompt: the difference to `sovr-*` is what tracing costs.
 */

const CHAT_PATH = "/v1/chat/completions";
export const VARIANT_PROMPT_BYTES = Number(process.env.BENCH_VARIANT_PROMPT_BYTES ?? 1024);

/** An OTLP/HTTP trace sink as its own process: reads each export and answers 200 with an empty body. */
const SINK = `
const http = require("node:http");
const s = http.createServer((req, res) => { req.resume(); req.on("end", () => { res.writeHead(200, {"content-type": "application/x-protobuf"}); res.end(); }); });
s.listen(Number(process.argv[1]), "127.0.0.1");
process.on("SIGTERM", () => s.close(() => process.exit(0)));
`;

export interface Variants {
  systems: { name: string; managed: Managed; version: string; notes: string[] }[];
  /** Helper processes not measured (the trace sink). */
  helpers: Managed[];
  targets: Target[];
}

export async function startVariants(
  sovr: SovrStarted,
  simUrl: string,
  logDir: string,
  rates: number[],
): Promise<Variants> {
  const prompt = promptOfBytes(VARIANT_PROMPT_BYTES);
  const sinkPort = await freePort();
  const sink = startProcess("otlp-sink", process.execPath, ["-e", SINK, String(sinkPort)], {
    logFile: join(logDir, "otlp-sink.log"),
  });
  const sinkUrl = `http://127.0.0.1:${sinkPort}/v1/traces`;
  await waitFor(
    "otlp-sink",
    async () => {
      const r = await request(sinkUrl, { method: "POST", body: "" });
      await r.body.text();
      return r.statusCode === 200;
    },
    15_000,
    sink,
  );
  const [nodet, otel] = await Promise.all([
    startSovr("sovr-nodet", simUrl, logDir, { env: { SOVR_CONTENT_DETECTORS: "off" } }),
    startSovr("sovr-otel", simUrl, logDir, {
      env: {
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: sinkUrl,
        OTEL_TRACES_SAMPLER: "always_on",
        OTEL_TRACES_SAMPLER_ARG: undefined,
      },
    }),
  ]);
  nodet.notes.push("variant: SOVR_CONTENT_DETECTORS=off (the detectors' cost = sovr-*-1k − sovr-nodet-*-1k)");
  otel.notes.push(
    "variant: tracing on — OTEL_TRACES_EXPORTER=otlp to a local sink process, OTEL_TRACES_SAMPLER=always_on",
  );
  const kb = `${VARIANT_PROMPT_BYTES} B prompt`;
  const targets = [
    ...(await pair(sovr, "sovr", "-1k", prompt, `content detectors on (default), ${kb}`, rates)),
    ...(await pair(nodet, "sovr-nodet", "-1k", prompt, `content detectors off, ${kb}`, rates)),
    ...(await pair(
      otel,
      "sovr-otel",
      "",
      undefined,
      "tracing on (OTLP to a local sink, every request)",
      rates,
    )),
  ];
  return {
    systems: [nodet, otel].map(({ name, managed, version, notes }) => ({ name, managed, version, notes })),
    helpers: [sink],
    targets,
  };
}

/** gRPC Chat and OpenAI HTTP (non-streaming) rows of one variant. */
async function pair(
  s: SovrStarted,
  prefix: string,
  suffix: string,
  prompt: string | undefined,
  variant: string,
  rates: number[],
): Promise<Target[]> {
  const c = await H2Sessions.open(s.grpcAddress, 2);
  const p = httpPool(s.httpUrl);
  return [
    {
      id: `${prefix}-grpc${suffix}`,
      label: `sovr gRPC Chat, ${variant}`,
      kind: "unary",
      baseline: "direct",
      variant,
      rates,
      system: s.name,
      client: "gRPC over node:http2, protobuf",
      call: prompt === undefined ? h2Chat(c, s.headers) : h2Chat(c, s.headers, prompt),
      close: () => c.close(),
    },
    {
      id: `${prefix}-http${suffix}`,
      label: `sovr OpenAI-compatible HTTP, ${variant}`,
      kind: "unary",
      baseline: "direct",
      variant,
      rates,
      system: s.name,
      client: "undici HTTP/1.1 JSON",
      call:
        prompt === undefined
          ? httpUnary(p, CHAT_PATH, s.headers)
          : httpUnary(p, CHAT_PATH, s.headers, MODEL, prompt),
      close: closePool(p),
    },
  ];
}
