#!/usr/bin/env node
// The `sovr` command. Runs the TypeScript sources through tsx's loader, so a fresh clone
// works after `npm install` with no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
