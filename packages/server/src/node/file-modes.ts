import { statSync } from "node:fs";
import { dirname } from "node:path";
import type { KeyportConfig } from "../config/config.js";
import { isPostgresUrl } from "../store/open.js";

/** A path and the mode it should have at most (DESIGN invariant 10). */
interface Private {
  readonly path: string;
  readonly mode: 0o700 | 0o600;
}

/**
 * What holds Keyport's secrets on disk: the SQLite data directory (0700), the database, its WAL
 * and shared-memory files and its `.lock` (0600), and the secret file (0600). `:memory:` and
 * PostgreSQL keep no files here.
 */
export function privatePaths(config: KeyportConfig, lockPath?: string): Private[] {
  const paths: Private[] = [];
  if (config.database !== ":memory:" && !isPostgresUrl(config.database)) {
    paths.push({ path: dirname(config.database), mode: 0o700 });
    for (const suffix of ["", "-wal", "-shm"]) {
      paths.push({ path: `${config.database}${suffix}`, mode: 0o600 });
    }
    if (lockPath) paths.push({ path: lockPath, mode: 0o600 });
  }
  if (config.secretFile) paths.push({ path: config.secretFile, mode: 0o600 });
  return paths;
}

/**
 * The one warning to print when any of `paths` lets group or others in, e.g. `… keyport.sqlite is
 * 0644 (want 0600)`; `undefined` when all are private or missing. Windows has no such modes.
 *
 * @example
 * const warning = loosePermissionsWarning(privatePaths(config));
 * if (warning) console.error(warning);
 */
export function loosePermissionsWarning(paths: readonly Private[]): string | undefined {
  if (process.platform === "win32") return undefined;
  const loose: string[] = [];
  for (const { path, mode } of paths) {
    let actual: number;
    try {
      actual = statSync(path).mode & 0o777;
    } catch {
      continue;
    }
    if ((actual & ~mode) !== 0) loose.push(`${path} is ${octal(actual)} (want ${octal(mode)})`);
  }
  if (loose.length === 0) return undefined;
  return (
    `Warning: other users of this machine may read or change Keyport's secrets: ${loose.join(", ")}. ` +
    "Run chmod with the wanted modes."
  );
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`;
