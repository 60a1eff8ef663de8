import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // 2-core machine: keep parallelism low so timing-sensitive end-to-end tests stay stable.
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
    // A migrated embedded database test servers start from (a copy each), not initdb every time.
    globalSetup: ["./test/support/pglite-template.ts"],
  },
});
