import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

const base = { SOVR_DATA_DIR: "/tmp/sovr-workers-config" };
const pg = { ...base, DATABASE_URL: "postgres://sovr@127.0.0.1/sovr", SOVR_WORKERS: "2" };

/** The ConfigError loadConfig throws for `env` (its key and message), or undefined when it loads. */
function refusal(env: Record<string, string>): { key: string; message: string } | undefined {
  try {
    loadConfig(env);
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { key: err.key, message: err.message };
  }
}

describe("SOVR_WORKERS", () => {
  it("is one process by default and takes 1…64", () => {
    expect(loadConfig(base).workers).toBe(1);
    expect(loadConfig(pg).workers).toBe(2);
    expect(refusal({ ...pg, SOVR_WORKERS: "0" })?.key).toBe("SOVR_WORKERS");
    expect(refusal({ ...pg, SOVR_WORKERS: "65" })?.key).toBe("SOVR_WORKERS");
    expect(refusal({ ...pg, SOVR_WORKERS: "1.5" })?.key).toBe("SOVR_WORKERS");
  });

  it("needs Postgres: the embedded database serves one process", () => {
    const r = refusal({ ...base, SOVR_WORKERS: "2" });
    expect(r?.key).toBe("DATABASE_URL");
    expect(r?.message).toMatch(/SOVR_WORKERS=2.*PGlite/);
    expect(refusal({ ...base, SOVR_WORKERS: "1" })).toBeUndefined();
  });

  it("refuses a limit each worker would count alone, naming what to change", () => {
    for (const key of [
      "SOVR_RATE_LIMIT_RPS",
      "SOVR_TENANT_RATE_LIMIT_RPS",
      "SOVR_TOKEN_LIMIT_TPM",
      "SOVR_TENANT_TOKEN_LIMIT_TPM",
    ]) {
      const r = refusal({ ...pg, [key]: "10" });
      expect(r?.key, key).toBe("SOVR_RATE_LIMIT_SCOPE");
      expect(r?.message).toContain(key);
      // Counted through the database, the limit is one for all workers.
      expect(refusal({ ...pg, [key]: "10", SOVR_RATE_LIMIT_SCOPE: "cluster" }), key).toBeUndefined();
      // One process counts alone as ever.
      expect(refusal({ ...pg, SOVR_WORKERS: "1", [key]: "10" }), key).toBeUndefined();
    }
    for (const key of ["SOVR_MAX_CONCURRENT_PER_KEY", "SOVR_MAX_CONCURRENT_PER_TENANT"]) {
      expect(refusal({ ...pg, [key]: "4", SOVR_RATE_LIMIT_SCOPE: "cluster" })?.key).toBe(key);
      expect(refusal({ ...pg, SOVR_WORKERS: "1", [key]: "4" })).toBeUndefined();
    }
  });
});
