import { readFileSync } from "node:fs";

/**
 * The installed `@keyport/cli` version, read from its package.json (one directory above both
 * `src/` and `dist/`), so that it never drifts from what npm installed.
 */
export function cliVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  return String(manifest.version);
}
