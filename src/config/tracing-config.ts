import { ConfigError } from "./config.js";

/** Where traces go and which are kept: the standard OTEL_* variables, read once at start. */
export interface TracingConfig {
  /** `OTEL_SERVICE_NAME` (default `sovr`). */
  readonly serviceName: string;
  /** The OTLP/HTTP (protobuf) traces URL. */
  readonly url: string;
  /** `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`: sent with every export (e.g. a collector's token). */
  readonly headers: Readonly<Record<string, string>>;
  /** `OTEL_RESOURCE_ATTRIBUTES`, `k=v` pairs. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: {
    readonly kind: "always_on" | "always_off" | "traceidratio";
    /** Follow the caller's sampled flag when there is one (the `parentbased_*` samplers). */
    readonly parentBased: boolean;
    readonly ratio: number;
  };
  /** Export timeout (`OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT`, ms). */
  readonly timeoutMs: number;
}

/** Who receives our `traceparent` (SOVR_TRACE_PROPAGATE_UPSTREAM): a trace id is a correlation id. */
export type TracePropagation = "local" | "all" | "none";

const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;

/**
 * Tracing from the OpenTelemetry SDK's environment variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/), with one
 * difference: it is OFF unless asked for, by `OTEL_TRACES_EXPORTER=otlp` or by naming an OTLP
 * endpoint. `OTEL_SDK_DISABLED=true` and `OTEL_TRACES_EXPORTER=none` switch it off. Only
 * OTLP over HTTP with protobuf is exported; any other exporter or protocol fails start-up
 * naming the variable (nothing silent). Undefined: tracing off, no SDK loaded.
 */
export function tracingConfig(env: Record<string, string | undefined>): TracingConfig | undefined {
  const v = (k: string) => {
    const x = env[k]?.trim();
    return x === undefined || x === "" ? undefined : x;
  };
  if (v("OTEL_SDK_DISABLED")?.toLowerCase() === "true") return undefined;
  const exporter = v("OTEL_TRACES_EXPORTER")?.toLowerCase();
  const tracesEndpoint = v("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const endpoint = v("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (exporter === "none") return undefined;
  if (exporter === undefined && tracesEndpoint === undefined && endpoint === undefined) return undefined;
  if (exporter !== undefined && exporter !== "otlp")
    throw new ConfigError("OTEL_TRACES_EXPORTER", `only "otlp" or "none" are supported, not "${exporter}"`);
  for (const key of ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
    const p = v(key);
    if (p !== undefined && p !== "http/protobuf")
      throw new ConfigError(key, `only "http/protobuf" is supported, not "${p}"`);
  }
  const url = tracesEndpoint ?? `${(endpoint ?? "http://localhost:4318").replace(/\/+$/, "")}/v1/traces`;
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new ConfigError(
      tracesEndpoint ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT",
      "must be an http(s) URL",
    );
  }
  const samplerName = (v("OTEL_TRACES_SAMPLER") ?? "parentbased_always_on").toLowerCase();
  if (!(SAMPLERS as readonly string[]).includes(samplerName))
    throw new ConfigError("OTEL_TRACES_SAMPLER", `must be one of ${SAMPLERS.join(", ")}`);
  const arg = v("OTEL_TRACES_SAMPLER_ARG");
  const ratio = arg === undefined ? 1 : Number(arg);
  if (samplerName.endsWith("traceidratio") && !(ratio >= 0 && ratio <= 1))
    throw new ConfigError("OTEL_TRACES_SAMPLER_ARG", "must be a number from 0 to 1");
  const timeoutKey = v("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
    ? "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
    : "OTEL_EXPORTER_OTLP_TIMEOUT";
  const timeoutMs = Number(v(timeoutKey) ?? 10_000);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new ConfigError(timeoutKey, "must be a positive number of milliseconds");
  return Object.freeze({
    serviceName: v("OTEL_SERVICE_NAME") ?? "sovr",
    url,
    headers: pairs(
      v("OTEL_EXPORTER_OTLP_TRACES_HEADERS") ?? v("OTEL_EXPORTER_OTLP_HEADERS"),
      "OTEL_EXPORTER_OTLP_HEADERS",
    ),
    resourceAttributes: pairs(v("OTEL_RESOURCE_ATTRIBUTES"), "OTEL_RESOURCE_ATTRIBUTES"),
    sampler: Object.freeze({
      kind: samplerName.replace("parentbased_", "") as TracingConfig["sampler"]["kind"],
      parentBased: samplerName.startsWith("parentbased_"),
      ratio,
    }),
    timeoutMs,
  });
}

/** `k1=v1,k2=v2` (W3C Baggage-style, values percent-decoded) as the specification defines them. */
function pairs(raw: string | undefined, key: string): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (raw === undefined) return Object.freeze(out);
  for (const item of raw.split(",")) {
    if (item.trim() === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) throw new ConfigError(key, "must be a list of key=value pairs");
    try {
      out[decodeURIComponent(item.slice(0, eq).trim())] = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      throw new ConfigError(key, "has a malformed percent-encoding");
    }
  }
  return Object.freeze(out);
}
