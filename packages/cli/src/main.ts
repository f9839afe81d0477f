#!/usr/bin/env node
import { runCommand } from "./run.js";

// No top-level await: the published bin is this module bundled as CommonJS (bundle-bin.mjs).
void runCommand(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
}).then((code) => {
  process.exitCode = code;
});
