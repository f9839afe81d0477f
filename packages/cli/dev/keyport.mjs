#!/usr/bin/env node
// Runs the CLI from its TypeScript sources through tsx, with the workspace packages resolved to
// their sources too (the `@keyport/source` export condition): what `npm start` and the tests run,
// with no build step. The published bin is dist/main.js, compiled JavaScript without tsx.
import { register } from "node:module";
import { register as registerTsx } from "tsx/esm/api";

register("./source-condition.mjs", import.meta.url);
registerTsx();
await import("../src/main.ts");
