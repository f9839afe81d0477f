import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startTestServer } from "../../server/test/support/server.js";
import { freePort } from "./support/run-cli.js";

/**
 * No Docker daemon runs here, so the image is never built in tests. What can be checked without
 * one is checked: the build runs the commands CI runs, the entry point is the CLI's bin, and the
 * HEALTHCHECK's command, run with the image's Node, tells a live server from a dead one.
 */

const root = fileURLToPath(new URL("../../../", import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, "utf8");
const dockerfile = read("Dockerfile").replace(/\\\n\s*/g, " ");
const instructions = dockerfile
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));

/** The exec-form (JSON array) arguments of an instruction such as `ENTRYPOINT [...]`. */
function execForm(instruction: string): string[] {
  const line = instructions.find((candidate) => candidate.startsWith(`${instruction} `));
  const json = line?.slice(line.indexOf("["));
  return JSON.parse(json ?? "[]") as string[];
}

describe("Dockerfile (issue 12)", () => {
  it("builds with CI's install command, whose prepare script is the build, then prunes dev dependencies", () => {
    const npmSteps = instructions
      .filter((line) => line.startsWith("RUN npm "))
      .map((line) => line.slice(4));
    expect(npmSteps).toEqual([
      "npm ci --no-audit --no-fund",
      "npm prune --omit=dev --no-audit --no-fund",
    ]);
    expect(read(".ci/run")).toContain("\nnpm ci --no-audit --no-fund\n");
    const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> })
      .scripts;
    expect(scripts.prepare).toBe("npm run build");
    expect(scripts.build).toContain("packages/cli");
  });

  it("runs the CLI's bin as a non-root user on node:20-slim, data in /data", () => {
    const bin = (JSON.parse(read("packages/cli/package.json")) as { bin: { keyport: string } }).bin
      .keyport;
    expect(execForm("ENTRYPOINT")).toEqual(["node", `packages/cli/${bin.replace(/^\.\//, "")}`]);
    expect(execForm("CMD")).toEqual(["serve"]);
    expect(instructions.filter((line) => line.startsWith("FROM "))).toEqual([
      "FROM node:20-slim AS build",
      "FROM node:20-slim",
    ]);
    expect(instructions).toContain("USER node");
    expect(dockerfile).toMatch(/KEYPORT_DATABASE=\/data\/keyport\.sqlite/);
    expect(dockerfile).toMatch(/KEYPORT_HOST=0\.0\.0\.0/);
    const ignored = read(".dockerignore").split("\n");
    expect(ignored).toEqual(expect.arrayContaining(["**/node_modules", "**/dist"]));
  });

  it("the HEALTHCHECK command exits 0 against a live server and 1 where nothing listens", async () => {
    const healthcheck = instructions.find((line) => line.startsWith("HEALTHCHECK "));
    const command = JSON.parse(healthcheck?.slice(healthcheck.indexOf("[")) ?? "[]") as string[];
    expect(command.slice(0, 2)).toEqual(["node", "-e"]);
    // Asynchronously: the server answering it runs in this process.
    const run = (port: number) =>
      new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, command.slice(1), {
          env: { KEYPORT_PORT: String(port) },
          stdio: "ignore",
        });
        child.once("error", reject);
        child.once("exit", (code) => resolve(code));
      });
    const server = await startTestServer({ url: ":memory:", drop: async () => {} });
    try {
      expect(await run(server.port)).toBe(0);
    } finally {
      await server.close();
    }
    expect(await run(await freePort())).toBe(1);
  });
});
