// `node --import ./record-imports.mjs …`: appends the URL of every module the process resolves
// to the file SOVR_TEST_IMPORTS_FILE names, one per line (test/e2e/cli-loading.test.ts: what a
// `sovr` command loads). The hooks run on Node's loader thread (record-imports-hooks.mjs).
import { register } from "node:module";

register("./record-imports-hooks.mjs", import.meta.url, {
  data: { file: process.env.SOVR_TEST_IMPORTS_FILE },
});
