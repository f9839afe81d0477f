import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createAccount,
  issueKey,
  parseConfig,
  type RunningServer,
  startServer,
} from "@keyport/server";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./support/chromium.js";

/** The page's script: both clients, bundled for the browser as an app would ship them. */
const ENTRY = `
import OpenAI from "openai";
import { OpenRouter } from "@openrouter/sdk";
const messages = [{ role: "user", content: "hello there" }];
window.calls = {
  async openaiJson(baseURL, apiKey) {
    const client = new OpenAI({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: "keyport/echo", messages });
    return answer.choices[0].message.content;
  },
  async openaiStream(baseURL, apiKey) {
    const client = new OpenAI({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: "keyport/echo", messages, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    return text;
  },
  async openRouter(serverURL, apiKey, stream) {
    const client = new OpenRouter({
      apiKey,
      serverURL,
      httpReferer: location.origin,
      appTitle: "Browser test",
      appCategories: "testing",
      retryConfig: { strategy: "none" },
    });
    const answer = await client.chat.send({ chatRequest: { model: "keyport/echo", messages, stream } });
    if (!stream) return answer.choices[0].message.content;
    let text = "";
    for await (const chunk of answer) text += chunk.choices[0]?.delta?.content ?? "";
    return text;
  },
};
`;

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let browser: Browser;
let keyport: RunningServer;
let site: Server;
let dir: string;
let key: string;
let page: Page;

/** Serves the page and its bundle on 127.0.0.1 (Keyport is reached as `localhost`: another origin). */
async function startSite(bundle: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === "/app.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(bundle);
      return;
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end('<!doctype html><title>app</title><script type="module" src="/app.js"></script>');
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return server;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "keyport-browser-clients-"));
  const bundled = build({
    stdin: { contents: ENTRY, resolveDir: ROOT, loader: "js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "silent",
  });
  [browser, keyport] = await Promise.all([
    launchChromium(),
    startServer(parseConfig({ port: 0, database: join(dir, "keyport.sqlite"), echoDelayMs: 0 })),
  ]);
  const deps = { store: keyport.store, clock: () => new Date() };
  const user = await createAccount(deps, "browser@example.com", "correct horse battery staple");
  if (!user) throw new Error("account not created");
  ({ key } = await issueKey(keyport.store, new Date(), {
    userId: user.id,
    label: "browser clients",
    limitMicros: 1_000_000,
    limitReset: null,
    expiresAt: null,
    isManagement: false,
  }));
  site = await startSite((await bundled).outputFiles[0]?.text ?? "");
  page = await browser.newPage();
  const { port } = site.address() as AddressInfo;
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => "calls" in window);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  site?.close();
  await keyport?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("clients bundled into a page on another origin call Keyport (CORS)", () => {
  const api = () => `http://localhost:${keyport.port}/api/v1`;
  type Calls = Record<string, (...args: unknown[]) => Promise<string>>;
  const call = (name: string, ...args: unknown[]) =>
    page.evaluate(
      ([name, args]) => (window as unknown as { calls: Calls }).calls[name]?.(...args),
      [name, args] as const,
    );

  it("openai-node, with its x-stainless-* headers: a completion and a stream", async () => {
    expect(await call("openaiJson", api(), key)).toBe("hello there");
    expect(await call("openaiStream", api(), key)).toBe("hello there");
  });

  it("@openrouter/sdk, with HTTP-Referer and its attribution headers: a completion and a stream", async () => {
    expect(await call("openRouter", api(), key, false)).toBe("hello there");
    expect(await call("openRouter", api(), key, true)).toBe("hello there");
  });
});
