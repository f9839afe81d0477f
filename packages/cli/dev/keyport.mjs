#!/usr/bin/env node
// Runs the CLI from its TypeScript sources through tsx, with the workspace packages resolved to
// their sources too (the `@keyport/source` export condition): what `npm start` and the tests run,
// with no build step. The published bin is dist/keyport.cjs, compiled and bundled JavaScript without tsx.
import { register } from "node:module";
import { fileURLToPath } from "node:url";
import { register as registerTsx } from "tsx/esm/api";

register("./source-condition.mjs", import.meta.url);
// The repository's tsconfig, named rather than looked up from the working directory: run from
// anywhere else, tsx would compile the server's .tsx pages for React and every page would fail.
registerTsx({ tsconfig: fileURLToPath(new URL("../../../tsconfig.json", import.meta.url)) });
await import("../src/main.ts");
