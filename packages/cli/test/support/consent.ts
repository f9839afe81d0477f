import { type ChildProcess, spawn } from "node:child_process";
import type { Browser } from "playwright-core";
import { newAccount, signUp } from "../../../../test/e2e/support/pages.js";
import { BIN } from "./run-cli.js";

/**
 * Does what a person does with the URL `keyport login` printed: opens it in a fresh Chromium
 * context, signs up, and clicks Authorize (or Deny). In headless mode it returns the code the
 * page shows; otherwise the page the loopback listener answered with.
 */
export async function consentInChromium(
  browser: Browser,
  url: string,
  choice: { deny?: boolean; headless?: boolean } = {},
): Promise<string> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    await signUp(page, newAccount());
    await page.getByRole("button", { name: choice.deny ? "Deny" : "Authorize" }).click();
    if (choice.headless) return ((await page.getByTestId("code").textContent()) ?? "").trim();
    await page.waitForURL("http://127.0.0.1:*/callback/**");
    return (await page.locator("h1").textContent()) ?? "";
  } finally {
    await context.close();
  }
}

/** Output collected as it arrives, and a bounded wait for the consent URL to appear in it. */
export interface Watched {
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves the first consent URL (`…/auth?…`) written to stderr. */
  readonly consentUrl: () => Promise<string>;
  /** Writes to the command's stdin, as a person typing. */
  readonly type: (text: string) => void;
  readonly exited: Promise<number | null>;
}

const CONSENT_URL = /(https?:\/\/\S+\/auth\?\S+)/;

function watch(
  stdout: NodeJS.ReadableStream,
  stderr: NodeJS.ReadableStream,
  stdin: NodeJS.WritableStream,
  exited: Promise<number | null>,
): Watched {
  let out = "";
  let err = "";
  stdout.setEncoding("utf8");
  stderr.setEncoding("utf8");
  stdout.on("data", (chunk: string) => {
    out += chunk;
  });
  stderr.on("data", (chunk: string) => {
    err += chunk;
  });
  let finished = false;
  void exited.then(() => {
    finished = true;
  });
  return {
    stdout: () => out,
    stderr: () => err,
    type: (text) => stdin.write(text),
    exited,
    async consentUrl() {
      // Bounded polling: at most 400 × 25 ms, or until the command exits.
      for (let i = 0; i < 400 && !finished; i++) {
        const match = err.match(CONSENT_URL);
        if (match?.[1]) return match[1];
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`no consent URL on stderr:\n${err}`);
    },
  };
}

/** `node dev/keyport.mjs ...args` with stdin left open for the code, and exactly `env` (+PATH). */
export function spawnLogin(
  args: string[],
  env: Record<string, string>,
): Watched & { process: ChildProcess } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code));
  });
  // biome-ignore lint/style/noNonNullAssertion: stdio is "pipe"
  return { process: child, ...watch(child.stdout!, child.stderr!, child.stdin!, exited) };
}
