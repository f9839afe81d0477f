import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The repository's root directory. */
const REPO = fileURLToPath(new URL("../../../", import.meta.url));

/** The published packages, in dependency order. */
export const PACKAGES = ["client", "server", "cli"] as const;
type PackageDir = (typeof PACKAGES)[number];

/** What `npm pack --json` says of one tarball. */
interface Tarball {
  readonly name: string;
  readonly path: string;
  /** Bytes of the .tgz. */
  readonly size: number;
  /** Bytes of its files, unpacked. */
  readonly unpackedSize: number;
  /** Every path inside the package, relative to its root. */
  readonly files: readonly string[];
}

/** An empty project outside the repository with the three tarballs installed into it. */
export interface InstalledProject {
  readonly dir: string;
  readonly tarballs: Readonly<Record<PackageDir, Tarball>>;
  /** The installed `keyport` bin (node_modules/.bin/keyport). */
  readonly bin: string;
  /** The packages whose `dist/` was stale, and so built before packing. */
  readonly rebuilt: readonly PackageDir[];
  /** Wall-clock milliseconds of packing (any build included) and of `npm install`. */
  readonly packMs: number;
  readonly installMs: number;
  /** Deletes the project, the tarballs and every other temporary folder made for them. */
  readonly remove: () => void;
}

/**
 * npm's own settings from the environment, less what `npm test` sets for the repository's
 * package (lifecycle, package fields, workspace), which must not leak into a separate install.
 */
function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_(lifecycle|package|config_workspace|config_local_prefix|command)/i.test(name))
      continue;
    if (name === "INIT_CWD") continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/**
 * Whether a package's `dist/` is a build of its sources as they are now: every source compiled
 * after its last change, and no module left over from a source that is gone. What `npm ci`'s
 * `prepare` just built passes; an edit since, or no build at all, fails.
 */
export function isBuilt(packageDir: string): boolean {
  const src = join(packageDir, "src");
  const dist = join(packageDir, "dist");
  const sources = filesUnder(src).filter((file) => /\.tsx?$/.test(file));
  const outputs = filesUnder(dist);
  if (outputs.length === 0) return false;
  const inputs = [...sources, join(packageDir, "tsconfig.build.json")];
  const newestInput = Math.max(...inputs.map((file) => statSync(file).mtimeMs));
  const oldestOutput = Math.min(...outputs.map((file) => statSync(file).mtimeMs));
  if (newestInput > oldestOutput) return false;
  const compiled = new Set(sources.map((file) => relative(src, file).replace(/\.tsx?$/, ".js")));
  return outputs
    .filter((file) => file.endsWith(".js"))
    .every((file) => compiled.has(relative(dist, file)));
}

/**
 * Packs every package into a temporary folder. A package whose `dist/` is not a build of its
 * current sources is built first (its `build` script, as `prepack` would), so the tarballs hold
 * what the sources say now; CI's `npm ci` has just built them all through `prepare`.
 */
async function packAll(): Promise<{
  tarballs: Record<PackageDir, Tarball>;
  rebuilt: PackageDir[];
}> {
  const destination = mkdtempSync(join(tmpdir(), "keyport-tarballs-"));
  const tarballs = {} as Record<PackageDir, Tarball>;
  const rebuilt: PackageDir[] = [];
  for (const name of PACKAGES) {
    const cwd = join(REPO, "packages", name);
    if (!isBuilt(cwd)) {
      await run("npm", ["run", "build"], { cwd, env: npmEnv() });
      rebuilt.push(name);
    }
    const { stdout } = await run(
      "npm",
      ["pack", "--json", "--ignore-scripts", "--pack-destination", destination],
      { cwd, env: npmEnv(), maxBuffer: 64 * 1024 * 1024 },
    );
    const [info] = JSON.parse(stdout) as {
      name: string;
      filename: string;
      size: number;
      unpackedSize: number;
      files: { path: string }[];
    }[];
    if (!info) throw new Error(`npm pack printed no tarball for ${name}:\n${stdout}`);
    tarballs[name] = {
      name: info.name,
      path: join(destination, info.filename),
      size: info.size,
      unpackedSize: info.unpackedSize,
      files: info.files.map((file) => file.path),
    };
  }
  return { tarballs, rebuilt };
}

/**
 * A folder for prebuild-install's documented local-prebuilds source, holding the better-sqlite3
 * binary that the repository's own install compiled, packed as its release archive would be.
 * better-sqlite3's install script then unpacks and loads it instead of compiling SQLite again
 * (minutes on this machine); with no binary here or no match, it compiles as usual.
 */
async function localPrebuilds(): Promise<string | undefined> {
  const module = join(REPO, "node_modules", "better-sqlite3");
  const binary = join(module, "build", "Release", "better_sqlite3.node");
  if (!existsSync(binary)) return undefined;
  const { version } = JSON.parse(readFileSync(join(module, "package.json"), "utf8"));
  const dir = mkdtempSync(join(tmpdir(), "keyport-prebuilds-"));
  const stage = join(dir, "stage");
  mkdirSync(join(stage, "build", "Release"), { recursive: true });
  copyFileSync(binary, join(stage, "build", "Release", "better_sqlite3.node"));
  const { modules } = process.versions;
  const archive = `better-sqlite3-v${version}-node-v${modules}-${process.platform}-${process.arch}.tar.gz`;
  await run("tar", ["-czf", join(dir, archive), "-C", stage, "build"]);
  return dir;
}

/**
 * Packs the packages, then installs the three tarballs into a new empty project under the
 * system's temporary folder, preferring npm's local cache to the registry.
 */
export async function packAndInstall(): Promise<InstalledProject> {
  const packStarted = performance.now();
  const { tarballs, rebuilt } = await packAll();
  const packMs = performance.now() - packStarted;

  const dir = mkdtempSync(join(tmpdir(), "keyport-installed-"));
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name: "keyport-installed-smoke", private: true, type: "module" }, null, 2)}\n`,
  );
  const prebuilds = await localPrebuilds();
  const extra = prebuilds ? { npm_config_better_sqlite3_local_prebuilds: prebuilds } : undefined;
  const installStarted = performance.now();
  await run(
    "npm",
    [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel",
      "error",
      ...PACKAGES.map((name) => tarballs[name].path),
    ],
    { cwd: dir, env: npmEnv(extra), maxBuffer: 64 * 1024 * 1024 },
  );
  const installMs = performance.now() - installStarted;
  const scratch = [dir, dirname(tarballs.client.path), ...(prebuilds ? [prebuilds] : [])];
  return {
    dir,
    tarballs,
    rebuilt,
    bin: join(dir, "node_modules", ".bin", "keyport"),
    packMs,
    installMs,
    remove: () => {
      for (const path of scratch) rmSync(path, { recursive: true, force: true });
    },
  };
}
