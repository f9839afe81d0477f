import { Agent, createServer, get } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AccessDeniedError,
  InvalidCodeError,
  type LoopbackSignInOptions,
  signInWithLoopback,
  TimeoutError,
} from "../src/node/index.js";
import { type AuthServer, startAuthServer } from "./helpers/auth-server.js";
import { refusesConnections } from "./helpers/http-server.js";

let auth: AuthServer;

beforeEach(async () => {
  auth = await startAuthServer();
});

afterEach(() => auth.close());

/** Starts the loopback flow and waits for the consent URL it shows the user. */
async function start(options: LoopbackSignInOptions = {}) {
  let shown: (url: string) => void = () => {};
  const urlShown = new Promise<string>((resolve) => {
    shown = resolve;
  });
  const result = signInWithLoopback({
    baseUrl: auth.baseUrl,
    openBrowser: false,
    onUrl: shown,
    ...options,
  });
  result.catch(() => {});
  const url = await urlShown;
  const callbackUrl = new URL(new URL(url).searchParams.get("callback_url") ?? "");
  return { result, url, callbackUrl, port: Number(callbackUrl.port) };
}

/** What the browser does with a URL: GET it and read the page. */
async function browse(url: string | URL) {
  const response = await fetch(url);
  return { status: response.status, text: await response.text(), headers: response.headers };
}

describe("signInWithLoopback", () => {
  it("binds 127.0.0.1 on an OS-chosen port with a nonce path, S256 and state", async () => {
    const { url, callbackUrl, result } = await start({ keyLabel: "my-cli" });
    const params = new URL(url).searchParams;
    expect(callbackUrl.hostname).toBe("127.0.0.1");
    expect(callbackUrl.pathname).toMatch(/^\/callback\/[A-Za-z0-9_-]{43}$/);
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get("key_label")).toBe("my-cli");
    await browse(auth.approve(url));
    await result;
  });

  it("completes on the browser's callback: key resolved, success page, listener closed", async () => {
    const { url, result, port } = await start();
    const page = await browse(auth.approve(url));
    expect(page.status).toBe(200);
    expect(page.text).toContain("Connected");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(await result).toEqual({ key: auth.minted[0], userId: "user_1" });
    expect(page.text).not.toContain(auth.minted[0]);
    expect(await refusesConnections(port)).toBe(true);
  });

  it("ignores stray requests and wrong nonces, and still completes", async () => {
    const { url, result, callbackUrl } = await start();
    const origin = callbackUrl.origin;
    expect((await browse(`${origin}/favicon.ico`)).status).toBe(404);
    expect((await browse(`${origin}/`)).status).toBe(404);
    const approved = new URL(auth.approve(url));
    const wrongNonce = new URL(approved);
    wrongNonce.pathname = `/callback/${"A".repeat(43)}`;
    expect((await browse(wrongNonce)).status).toBe(404);
    expect((await browse(`${origin}/callback/`)).status).toBe(404);
    expect((await browse(callbackUrl)).status).toBe(400);
    const wrongState = new URL(approved);
    wrongState.searchParams.set("state", "forged");
    expect((await browse(wrongState)).status).toBe(400);
    const post = await fetch(approved, { method: "POST" });
    expect(post.status).toBe(404);
    expect(auth.requests).toHaveLength(0);
    expect((await browse(approved)).status).toBe(200);
    expect(await result).toMatchObject({ key: auth.minted[0] });
    expect(auth.minted).toHaveLength(1);
  });

  it("error=access_denied → AccessDeniedError, page shown, listener closed", async () => {
    const { result, callbackUrl, url, port } = await start();
    callbackUrl.searchParams.set("error", "access_denied");
    callbackUrl.searchParams.set("state", new URL(url).searchParams.get("state") ?? "");
    const page = await browse(callbackUrl);
    expect(page.text).toContain("cancelled");
    await expect(result).rejects.toThrow(AccessDeniedError);
    expect(await refusesConnections(port)).toBe(true);
  });

  it("a failed exchange rejects with its error and tells the browser", async () => {
    const { url, result, port } = await start();
    const approved = new URL(auth.approve(url));
    approved.searchParams.set("code", "never-issued");
    const page = await browse(approved);
    expect(page.status).toBe(502);
    expect(page.text).toContain("Invalid code or code_verifier");
    await expect(result).rejects.toThrow(InvalidCodeError);
    expect(await refusesConnections(port)).toBe(true);
  });

  it("timeout → TimeoutError, listener closed", async () => {
    const { result, port } = await start({ timeoutMs: 150 });
    await expect(result).rejects.toThrow(TimeoutError);
    expect(await refusesConnections(port)).toBe(true);
  });

  it("abort → signal.reason, listener closed even with a keep-alive connection open", async () => {
    const controller = new AbortController();
    const { result, port, callbackUrl } = await start({ signal: controller.signal });
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve) => {
      get(`${callbackUrl.origin}/favicon.ico`, { agent }, (res) => {
        res.resume();
        res.on("end", resolve);
      });
    });
    const reason = new Error("Ctrl-C");
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(await refusesConnections(port)).toBe(true);
    agent.destroy();
  });

  it("an already aborted signal rejects before binding anything", async () => {
    const reason = new Error("too late");
    await expect(
      signInWithLoopback({ signal: AbortSignal.abort(reason), openBrowser: false }),
    ).rejects.toBe(reason);
  });

  it("shows the URL and opens the browser with the same URL", async () => {
    const opened: string[] = [];
    const { url, result } = await start({
      openBrowser: (u) => {
        opened.push(u);
        return false;
      },
    });
    expect(opened).toEqual([url]);
    await browse(auth.approve(url));
    await result;
  });
});

describe("signInWithLoopback on a fixed port", () => {
  it("listens on the port asked for", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const free = (holder.address() as AddressInfo).port;
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    const { url, result, port } = await start({ port: free });
    expect(port).toBe(free);
    await browse(auth.approve(url));
    await result;
  });

  it("a port already taken: a clear EADDRINUSE error, before any URL is shown", async () => {
    const holder = createServer((_, res) => res.end("holder"));
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const taken = (holder.address() as AddressInfo).port;
    try {
      let shown = false;
      const attempt = signInWithLoopback({
        baseUrl: auth.baseUrl,
        openBrowser: false,
        port: taken,
        onUrl: () => {
          shown = true;
        },
      });
      await expect(attempt).rejects.toMatchObject({
        code: "EADDRINUSE",
        message: expect.stringContaining(`Port ${taken}`),
      });
      expect(shown).toBe(false);
      expect(await (await fetch(`http://127.0.0.1:${taken}/`)).text()).toBe("holder");
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});

describe("signInWithLoopback with a throwing opener", () => {
  it("keeps waiting: the user still has the URL", async () => {
    const { url, result } = await start({
      openBrowser: () => {
        throw new Error("no xdg-open");
      },
    });
    await browse(auth.approve(url));
    expect(await result).toMatchObject({ key: auth.minted[0] });
  });
});
