import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";
import { tracingConfig } from "./tracing-config.js";

describe("tracingConfig (the standard OTEL_* variables)", () => {
  it("is off by default, with OTEL_SDK_DISABLED, and with OTEL_TRACES_EXPORTER=none", () => {
    expect(tracingConfig({})).toBeUndefined();
    expect(tracingConfig({ OTEL_SERVICE_NAME: "x", OTEL_TRACES_SAMPLER: "always_on" })).toBeUndefined();
    expect(tracingConfig({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" })).toBeUndefined();
    expect(
      tracingConfig({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }),
    ).toBeUndefined();
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({}).tracePropagation).toBe("local");
    expect(loadConfig({}).logFormat).toBe("auto");
  });

  it("is on with the exporter or an endpoint; the traces URL as the specification builds it", () => {
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "otlp" })?.url).toBe("http://localhost:4318/v1/traces");
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })?.url).toBe(
      "http://collector:4318/v1/traces",
    );
    const c = tracingConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://traces.example/otlp",
      OTEL_EXPORTER_OTLP_HEADERS: "x-token=a%3Db,other=1",
      OTEL_SERVICE_NAME: "router-eu",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
    });
    expect(c).toMatchObject({
      url: "https://traces.example/otlp",
      headers: { "x-token": "a=b", other: "1" },
      serviceName: "router-eu",
      resourceAttributes: { "deployment.environment": "prod" },
      sampler: { kind: "traceidratio", parentBased: true, ratio: 0.25 },
    });
  });

  it("refuses what it would not honour, naming the variable", () => {
    const key = (env: Record<string, string>) => {
      try {
        tracingConfig(env);
      } catch (err) {
        return err instanceof ConfigError ? err.key : "not a ConfigError";
      }
      return "accepted";
    };
    expect(key({ OTEL_TRACES_EXPORTER: "zipkin" })).toBe("OTEL_TRACES_EXPORTER");
    expect(key({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toBe(
      "OTEL_EXPORTER_OTLP_PROTOCOL",
    );
    expect(key({ OTEL_TRACES_EXPORTER: "otlp", OTEL_TRACES_SAMPLER: "sometimes" })).toBe(
      "OTEL_TRACES_SAMPLER",
    );
    expect(
      key({
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_TRACES_SAMPLER: "traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "2",
      }),
    ).toBe("OTEL_TRACES_SAMPLER_ARG");
    expect(key({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toBe("OTEL_EXPORTER_OTLP_ENDPOINT");
    expect(key({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_HEADERS: "novalue" })).toBe(
      "OTEL_EXPORTER_OTLP_HEADERS",
    );
    expect(() => loadConfig({ SOVR_TRACE_PROPAGATE_UPSTREAM: "some" })).toThrow(
      /SOVR_TRACE_PROPAGATE_UPSTREAM/,
    );
    expect(() => loadConfig({ SOVR_LOG_FORMAT: "xml" })).toThrow(/SOVR_LOG_FORMAT/);
  });
});
