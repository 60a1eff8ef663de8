#!/usr/bin/env node
// The `sovr` command. Runs the compiled JavaScript in dist/ when it is a build of the current
// sources (`npm run build`; `npm start` builds first), else the TypeScript sources through tsx's
// loader: a fresh clone works after `npm install` with no build step, and an edited source is
// never run from a stale build. Compiled, the server runs without the loader's thread and its
// esbuild process (~50 MiB less resident memory, docs/operations.md "Memory").
import { buildIsCurrent } from "./build-state.js";

if (buildIsCurrent()) {
  await import("../dist/cli/main.js");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/main.ts");
}
