import { type ChildProcess, spawn } from "node:child_process";

/** A process run from the installed project, its output collected as it arrives. */
export interface InstalledProcess {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * Runs `command args` in `cwd` with PATH and HOME only, so nothing of the repository's
 * environment (npm's variables, NODE_OPTIONS, loaders) reaches it; `stdin` is written then closed.
 */
export function runInstalled(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: string },
): InstalledProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "", HOME: options.cwd, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(options.stdin ?? "");
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, stdout, stderr }));
    },
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs to the end; rejects with its output when it exits non-zero. */
export async function runToEnd(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: string },
): Promise<{ stdout: string; stderr: string }> {
  const result = await runInstalled(command, args, options).exited;
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** Polls `url` until it answers 200 or the process exits: at most `attempts` × 50 ms. */
export async function waitForOk(url: string, server: InstalledProcess, attempts = 400) {
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  for (let i = 0; i < attempts && !exited; i++) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} never answered 200; server stderr:\n${server.stderr()}`);
}
