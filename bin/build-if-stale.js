#!/usr/bin/env node
// `npm start`'s first step: builds dist/ when it is not a build of the current sources. A build
// that fails (a type error mid-edit) is reported and the server runs from the sources through
// tsx instead (bin/sovr.js decides), so `npm start` always starts.
import { spawnSync } from "node:child_process";
import { buildIsCurrent, REPO } from "./build-state.js";

if (!buildIsCurrent()) {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const r = spawnSync(npm, ["run", "--silent", "build"], {
    cwd: REPO,
    stdio: "inherit",
    shell: process.platform === "win32",
  });
  if (r.status !== 0)
    process.stderr.write(
      "sovr: the build failed (above); running the TypeScript sources through tsx instead\n",
    );
}
