import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidCodeError, signIn, signInHeadless } from "../src/node/index.js";
import { type AuthServer, startAuthServer } from "./helpers/auth-server.js";
import { refusesConnections } from "./helpers/http-server.js";

let auth: AuthServer;

beforeEach(async () => {
  auth = await startAuthServer();
});

afterEach(() => auth.close());

function capture() {
  const output = new PassThrough();
  let text = "";
  output.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { output, text: () => text };
}

describe("signInHeadless", () => {
  it("prints a URL without callback_url (S256) and exchanges the pasted code", async () => {
    const { output, text } = capture();
    let asked = "";
    const result = await signInHeadless({
      baseUrl: auth.baseUrl,
      keyLabel: "ssh-box",
      output,
      prompt: async (url) => {
        asked = url;
        return `  ${auth.issueCode(url)}\n`;
      },
    });
    expect(result).toEqual({ key: auth.minted[0], userId: "user_1" });
    const params = new URL(asked).searchParams;
    expect(params.has("callback_url")).toBe(false);
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("key_label")).toBe("ssh-box");
    expect(text()).toContain(asked);
  });

  it("reads one line from input by default", async () => {
    const { output, text } = capture();
    const input = new PassThrough();
    const result = signInHeadless({ baseUrl: auth.baseUrl, input, output });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const url = text().match(/http\S+/)?.[0] ?? "";
    input.write(`${auth.issueCode(url)}\n`);
    expect(await result).toMatchObject({ key: auth.minted[0] });
  });

  it("an empty answer → InvalidCodeError without any request", async () => {
    const { output } = capture();
    await expect(
      signInHeadless({ baseUrl: auth.baseUrl, output, prompt: async () => "  \n" }),
    ).rejects.toThrow(InvalidCodeError);
    expect(auth.requests).toHaveLength(0);
  });

  it("input that ends before a line (</dev/null) → InvalidCodeError, never a hang", async () => {
    const { output } = capture();
    const input = new PassThrough();
    input.end();
    await expect(signInHeadless({ baseUrl: auth.baseUrl, input, output })).rejects.toThrow(
      InvalidCodeError,
    );
    expect(auth.requests).toHaveLength(0);
  });
});

describe("signIn", () => {
  it("falls back to headless when no browser opens and stdin is a TTY", async () => {
    const { output } = capture();
    const input = Object.assign(new PassThrough(), { isTTY: true });
    let loopbackUrl = "";
    const result = await signIn({
      baseUrl: auth.baseUrl,
      input,
      output,
      onUrl: (url) => {
        loopbackUrl = url;
      },
      openBrowser: () => false,
      prompt: async (url) => auth.issueCode(url),
    });
    expect(result).toMatchObject({ key: auth.minted[0] });
    const callback = new URL(new URL(loopbackUrl).searchParams.get("callback_url") ?? "");
    expect(await refusesConnections(Number(callback.port))).toBe(true);
  });

  it("stays on loopback when nobody can type (not a TTY)", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: false });
    let shown: (url: string) => void = () => {};
    const urlShown = new Promise<string>((resolve) => {
      shown = resolve;
    });
    const result = signIn({
      baseUrl: auth.baseUrl,
      input,
      onUrl: shown,
      openBrowser: () => false,
      prompt: async () => {
        throw new Error("must not prompt");
      },
    });
    const response = await fetch(auth.approve(await urlShown));
    expect(response.status).toBe(200);
    expect(await result).toMatchObject({ key: auth.minted[0] });
  });
});
