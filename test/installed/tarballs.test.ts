import { copyFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../packages/cli/test/support/run-cli.js";
import { type InstalledProject, PACKAGES, packAndInstall } from "./support/install.js";
import {
  type InstalledProcess,
  runInstalled,
  runToEnd,
  waitForOk,
} from "./support/installed-process.js";

/**
 * CI's check that Keyport works as published: every package packed (built anew by `prepack`),
 * the three tarballs installed into an empty project under the system's temporary folder, and
 * everything below run from that project only, under plain Node.
 */

/** Each test starts real processes on a machine that may be busy: a generous bound, not a timing. */
const PROCESSES = { timeout: 120_000 };
const EMAIL = "smoke@example.test";
const PASSWORD = "a long smoke-test password";

let project: InstalledProject;
let server: InstalledProcess | undefined;
let base = "";
const report: string[] = [];

/** The installed copy of a package's file. */
function installed(name: string, ...path: string[]): string {
  return join(project.dir, "node_modules", name, ...path);
}

function manifest(name: string) {
  return JSON.parse(readFileSync(installed(name, "package.json"), "utf8"));
}

/** Every file path a manifest points Node or TypeScript at, except the repository-only condition. */
function entryPoints(pkg: Record<string, unknown>): string[] {
  const targets: string[] = [];
  const walk = (value: unknown, condition?: string) => {
    if (typeof value === "string" && condition !== "@keyport/source") targets.push(value);
    else if (value && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) walk(inner, key);
    }
  };
  walk({ main: pkg.main, types: pkg.types, bin: pkg.bin, exports: pkg.exports });
  return targets.map((target) => target.replace(/^\.\//, ""));
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

beforeAll(async () => {
  project = await packAndInstall();
  report.push(
    `packed 3 packages in ${(project.packMs / 1000).toFixed(1)} s ` +
      `(rebuilt first: ${project.rebuilt.join(", ") || "none, dist/ was current"}), ` +
      `installed them in ${(project.installMs / 1000).toFixed(1)} s into ${project.dir}`,
  );
  for (const name of PACKAGES) {
    const tarball = project.tarballs[name];
    report.push(
      `${tarball.name}: ${(tarball.size / 1024).toFixed(1)} kB packed, ` +
        `${(tarball.unpackedSize / 1024).toFixed(1)} kB unpacked, ${tarball.files.length} files`,
    );
  }
}, 600_000);

afterAll(async () => {
  if (server) {
    server.child.kill("SIGTERM");
    const { code } = await server.exited;
    report.push(`keyport serve exited ${code} on SIGTERM`);
  }
  console.log(`installed smoke test:\n  ${report.join("\n  ")}`);
  project?.remove();
});

describe("the packed tarballs", () => {
  it.each(PACKAGES)("%s holds dist, README and LICENSE, and no tests or sources", (name) => {
    const { files } = project.tarballs[name];
    const data = name === "server" ? ["data/common-passwords.txt"] : [];
    for (const required of ["package.json", "README.md", "LICENSE", ...data]) {
      expect(files).toContain(required);
    }
    const allowed =
      /^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts|js\.map)|dist\/keyport\.cjs(\.map)?|data\/common-passwords\.(txt|LICENSE\.md))$/;
    expect(files.filter((file) => !allowed.test(file))).toEqual([]);
    expect(files.filter((file) => /(^|\/)(test|tests|__tests__)\/|\.test\./.test(file))).toEqual(
      [],
    );
  });

  it.each(PACKAGES)("%s: main, types, bin and every export point at a packed file", (name) => {
    const pkg = manifest(`@keyport/${name}`);
    const targets = entryPoints(pkg);
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(project.tarballs[name].files).toContain(target);
  });

  it.each(PACKAGES)("%s: every source map carries its sources (no dangling src/)", (name) => {
    const maps = listFiles(installed(`@keyport/${name}`, "dist")).filter((file) =>
      /\.c?js\.map$/.test(file),
    );
    expect(maps.length).toBeGreaterThan(0);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(file, "utf8"));
      expect(map.sourcesContent?.length, file).toBe(map.sources.length);
      expect(map.sourcesContent.every((text: unknown) => typeof text === "string")).toBe(true);
    }
  });

  it("the client has no dependencies, and nothing installed brings tsx", () => {
    const client = manifest("@keyport/client");
    expect(client.dependencies ?? {}).toEqual({});
    expect(client.peerDependencies ?? {}).toEqual({});
    expect(existsSync(join(project.dir, "node_modules", "tsx"))).toBe(false);
  });
});

describe("plain Node in the installed project", PROCESSES, () => {
  it("imports the client, its browser and node entries, and the server", async () => {
    const { stdout } = await runToEnd(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import * as client from "@keyport/client";
         import * as browser from "@keyport/client/browser";
         import * as nodeEntry from "@keyport/client/node";
         import * as server from "@keyport/server";
         console.log([typeof client.createPkcePair, typeof browser.startSignIn,
           typeof nodeEntry.createPkcePair, typeof server.createApp, typeof server.startServer].join(" "));`,
      ],
      { cwd: project.dir },
    );
    expect(stdout.trim()).toBe("function function function function function");
    report.push(`import: ${stdout.trim()}`);
  });

  it("require()s the client and the server (require of ESM)", async () => {
    const { stdout } = await runToEnd(
      process.execPath,
      [
        "-e",
        `const client = require("@keyport/client");
         const nodeEntry = require("@keyport/client/node");
         const server = require("@keyport/server");
         console.log([typeof client.createPkcePair, typeof nodeEntry.createPkcePair,
           typeof server.createApp, typeof server.openStore].join(" "));`,
      ],
      { cwd: project.dir },
    );
    expect(stdout.trim()).toBe("function function function function");
    report.push(`require (Node ${process.version}): ${stdout.trim()}`);
  });
});

describe("a bundler on the installed client", PROCESSES, () => {
  async function bundle(source: string) {
    const result = await build({
      stdin: { contents: source, resolveDir: project.dir, loader: "js" },
      absWorkingDir: project.dir,
      bundle: true,
      platform: "browser",
      format: "esm",
      minify: true,
      metafile: true,
      write: false,
      logLevel: "silent",
    });
    return {
      code: result.outputFiles[0]?.text ?? "",
      inputs: Object.keys(result.metafile.inputs),
    };
  }

  it("bundles the browser entry for browsers from dist alone, with no node: module", async () => {
    const flow = await bundle(
      `export { startSignIn, completeSignIn } from "@keyport/client/browser";`,
    );
    expect(flow.inputs.length).toBeGreaterThan(1);
    for (const input of flow.inputs.filter((path) => path !== "<stdin>")) {
      expect(input).toMatch(/^node_modules\/@keyport\/client\/dist\/.+\.js$/);
    }
    expect(flow.code).not.toMatch(/node:|require\(/);
    expect(flow.code).toContain("sessionStorage");

    // Tree-shaking: the PKCE helper alone leaves the redirect flow and its storage out.
    const pkce = await bundle(`export { createPkcePair } from "@keyport/client/browser";`);
    expect(pkce.code).not.toContain("sessionStorage");
    expect(pkce.code.length).toBeLessThan(flow.code.length / 2);
    report.push(
      `browser bundle (esbuild, platform=browser, minified): whole sign-in flow ${flow.code.length} B, createPkcePair alone ${pkce.code.length} B`,
    );
  });
});

describe("the installed keyport bin", PROCESSES, () => {
  it("--help and --version run the compiled CLI", async () => {
    const help = await runToEnd(project.bin, ["--help"], { cwd: project.dir });
    expect(help.stdout).toMatch(/^Usage: keyport <command>/);
    const version = await runToEnd(project.bin, ["--version"], { cwd: project.dir });
    expect(version.stdout.trim()).toBe(manifest("@keyport/cli").version);
    report.push(`keyport --version: ${version.stdout.trim()}`);
  });

  it("a command's usage error exits 2 through the bundled bin, as from the sources", async () => {
    const wrong = await runInstalled(project.bin, ["users", "--bogus"], { cwd: project.dir })
      .exited;
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^keyport users: unknown option --bogus\./);
  });

  it("keyport serve starts on a temporary SQLite file and answers /api/v1/models", async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = runInstalled(
      project.bin,
      ["serve", "--port", String(port), "--database", join(project.dir, "keyport.sqlite")],
      { cwd: project.dir },
    );
    await waitForOk(`${base}/healthz`, server);
    const models = await fetch(`${base}/api/v1/models`);
    expect(models.status).toBe(200);
    const ids = ((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id);
    expect(ids).toContain("keyport/echo");
    report.push(`serve: ${server.stderr().trim().split("\n").at(-1)}`);
    report.push(`GET /api/v1/models: 200, ${ids.join(", ")}`);
  });

  it("pages and their stylesheets render from the installed package", async () => {
    const signIn = await fetch(`${base}/signin`);
    expect(signIn.status).toBe(200);
    expect(await signIn.text()).toContain('name="csrf_token"');
    for (const sheet of ["/assets/keyport.css", "/assets/dashboard.css"]) {
      const css = await fetch(`${base}${sheet}`);
      expect(css.status, sheet).toBe(200);
      expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    }
  });

  it("an unknown path is a 404 page or OpenRouter's 404 JSON, never a 500", async () => {
    const page = await fetch(`${base}/no-such-page`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(404);
    expect(await page.text()).toContain("Not found");
    const api = await fetch(`${base}/api/v1/no-such-endpoint`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: { code: 404, message: "Not found" } });
    expect(server?.stderr()).not.toMatch(/Error|\n\s+at /);
    report.push(`GET /no-such-page: ${page.status}; GET /api/v1/no-such-endpoint: ${api.status}`);
  });

  it("keyport users create, then a whole PKCE sign-in with the installed client", async () => {
    const created = await runToEnd(
      project.bin,
      [
        "users",
        "create",
        "--email",
        EMAIL,
        "--password-stdin",
        "--database",
        join(project.dir, "keyport.sqlite"),
      ],
      { cwd: project.dir, stdin: `${PASSWORD}\n` },
    );
    const userId = created.stdout.trim();
    expect(userId).toMatch(/^user_\w+$/);
    report.push(`keyport users create: ${userId}`);

    const script = join(project.dir, "pkce-sign-in.mjs");
    copyFileSync(new URL("./fixtures/pkce-sign-in.mjs", import.meta.url), script);
    const { stdout } = await runToEnd(process.execPath, [script], {
      cwd: project.dir,
      env: { KEYPORT_URL: base, KEYPORT_EMAIL: EMAIL, KEYPORT_PASSWORD: PASSWORD },
    });
    const result = JSON.parse(stdout);
    expect(result).toEqual({
      codeLength: 43,
      keyPrefix: "sk-kp-v1",
      userId,
      label: "installed smoke test",
      limit: 2,
      replay: "InvalidCodeError",
    });
    report.push(`PKCE sign-in from the installed client: ${stdout.trim()}`);
  });
});
