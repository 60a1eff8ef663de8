import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The models directory holding the real test model (SmolLM2-135M-Instruct), as
 * scripts/install-local-model.sh fills it (`npm test`'s pretest and .ci/run run it).
 */
export function testModelDir(): string {
  return (
    process.env.SOVR_TEST_MODEL_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "sovr/models")
  );
}

export const TEST_MODEL = "local/smollm2-135m-instruct";
export const TEST_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf";
export const TEST_MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/** The GGUF's path; throws (the test fails, never skips) when the model was not installed. */
export function testModelPath(): string {
  const path = join(testModelDir(), TEST_MODEL_FILE);
  if (!existsSync(path)) throw new Error(`${path} is missing: run bash scripts/install-local-model.sh`);
  return path;
}
