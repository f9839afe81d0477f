import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CodeExpiredError,
  exchangeCode,
  type FetchLike,
  InvalidCodeChallengeMethodError,
  InvalidCodeError,
  KeyportError,
  MethodNotAllowedError,
  NetworkError,
  nopkce,
  ProtocolError,
  RateLimitedError,
  ServerError,
} from "../src/index.js";
import {
  closedPort,
  errorBody,
  json,
  startServer,
  type TestServer,
} from "./helpers/http-server.js";

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

// Each code selects the answer of the fake exchange endpoint: one row of OpenRouter's table.
const answers: Record<string, [number, unknown, Record<string, string>?]> = {
  ok: [200, { key: "sk-kp-v1-abc", user_id: "user_1" }],
  "ok-no-user": [200, { key: "sk-or-v1-abc" }],
  "bad-method": [400, errorBody(400, "Invalid code_challenge_method")],
  invalid: [403, errorBody(403, "Invalid code or code_verifier")],
  expired: [403, errorBody(403, "Authorization code expired")],
  "not-allowed": [405, errorBody(405, "Method Not Allowed")],
  "rate-limited": [429, errorBody(429, "Too many requests"), { "retry-after": "17" }],
  "rate-limited-date": [429, errorBody(429, "Slow down"), { "retry-after": "" }],
  boom: [500, "<html>Internal Server Error</html>"],
  unavailable: [503, errorBody(503, "Upstream unavailable")],
  teapot: [418, errorBody(418, "I'm a teapot")],
  "not-json": [200, "<html>hello</html>"],
  "no-key": [200, { user_id: "user_1" }],
  "numeric-key": [200, { key: 42, user_id: "user_1" }],
  "bad-user": [200, { key: "sk-kp-v1-abc", user_id: { id: 1 } }],
};

let server: TestServer;

beforeAll(async () => {
  server = await startServer((request, res) => {
    if (request.url !== "/api/v1/auth/keys" || request.method !== "POST") {
      return json(res, 404, errorBody(404, "Not Found"));
    }
    const { code } = JSON.parse(request.body) as { code: string };
    const [status, body, headers] = answers[code] ?? [500, {}];
    const extra =
      code === "rate-limited-date"
        ? { "retry-after": new Date(Date.now() + 30_000).toUTCString() }
        : headers;
    json(res, status, body, extra);
  });
});

afterAll(() => server.close());

const exchange = (code: string) =>
  exchangeCode({ baseUrl: server.baseUrl, code, codeVerifier: verifier });

describe("exchangeCode: POST /api/v1/auth/keys", () => {
  it("sends code, code_verifier and code_challenge_method as JSON and returns the key", async () => {
    expect(await exchange("ok")).toEqual({ key: "sk-kp-v1-abc", userId: "user_1" });
    const request = server.requests.at(-1);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(request?.body ?? "")).toEqual({
      code: "ok",
      code_verifier: verifier,
      code_challenge_method: "S256",
    });
  });

  it("sends the given method, and only the code under nopkce", async () => {
    await exchangeCode({
      baseUrl: server.baseUrl,
      code: "ok",
      codeVerifier: verifier,
      codeChallengeMethod: "plain",
    });
    expect(JSON.parse(server.requests.at(-1)?.body ?? "")).toMatchObject({
      code_challenge_method: "plain",
    });
    await exchangeCode({ baseUrl: server.baseUrl, code: "ok", codeVerifier: nopkce });
    expect(JSON.parse(server.requests.at(-1)?.body ?? "")).toEqual({ code: "ok" });
  });

  it("leaves userId undefined when the server omits user_id (OpenRouter)", async () => {
    expect(await exchange("ok-no-user")).toEqual({ key: "sk-or-v1-abc", userId: undefined });
  });

  const rows: [string, new (...args: never[]) => KeyportError, number, string][] = [
    ["bad-method", InvalidCodeChallengeMethodError, 400, "Invalid code_challenge_method"],
    ["invalid", InvalidCodeError, 403, "Invalid code or code_verifier"],
    ["expired", CodeExpiredError, 403, "Authorization code expired"],
    ["not-allowed", MethodNotAllowedError, 405, "Method Not Allowed"],
    ["unavailable", ServerError, 503, "Upstream unavailable"],
    ["boom", ServerError, 500, "HTTP 500"],
    ["teapot", ServerError, 418, "I'm a teapot"],
  ];
  for (const [code, ErrorClass, status, message] of rows) {
    it(`${status} ${message} → ${ErrorClass.name}`, async () => {
      const error = await exchange(code).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ErrorClass);
      expect(error).toBeInstanceOf(KeyportError);
      expect(error).toMatchObject({ name: ErrorClass.name, status, message });
    });
  }

  it("keeps the server's body as cause", async () => {
    const error = await exchange("invalid").catch((e: unknown) => e);
    expect((error as Error).cause).toEqual(errorBody(403, "Invalid code or code_verifier"));
    expect(error).not.toBeInstanceOf(CodeExpiredError);
  });

  it("429 → RateLimitedError with Retry-After in seconds, as delay or HTTP-date", async () => {
    const error = await exchange("rate-limited").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 17 });
    const dated = (await exchange("rate-limited-date").catch(
      (e: unknown) => e,
    )) as RateLimitedError;
    expect(dated.retryAfterSeconds).toBeGreaterThanOrEqual(28);
    expect(dated.retryAfterSeconds).toBeLessThanOrEqual(31);
  });

  it("2xx bodies it cannot use → ProtocolError naming the field", async () => {
    await expect(exchange("not-json")).rejects.toThrow(ProtocolError);
    await expect(exchange("not-json")).rejects.toThrow("not JSON");
    await expect(exchange("no-key")).rejects.toThrow(/"key"/);
    await expect(exchange("numeric-key")).rejects.toThrow(ProtocolError);
    await expect(exchange("bad-user")).rejects.toThrow(/"user_id"/);
    // The response held a live key: the error, which may be logged, does not carry it.
    const error = await exchange("bad-user").catch((e: unknown) => e);
    expect(
      JSON.stringify({ cause: (error as Error).cause, message: (error as Error).message }),
    ).not.toMatch(/sk-/);
  });

  it("refused connection → NetworkError with the cause", async () => {
    const port = await closedPort();
    const error = await exchangeCode({
      baseUrl: `http://127.0.0.1:${port}`,
      code: "ok",
      codeVerifier: verifier,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it("abort rejects with signal.reason, not a NetworkError", async () => {
    const controller = new AbortController();
    const reason = new Error("user cancelled");
    const hanging: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => {
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    const pending = exchangeCode({
      code: "ok",
      codeVerifier: verifier,
      fetch: hanging,
      signal: controller.signal,
    });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it("uses an injected fetch against https://openrouter.ai by default", async () => {
    const seen: string[] = [];
    const fetch: FetchLike = async (url) => {
      seen.push(url);
      return new Response(JSON.stringify({ key: "k" }), { status: 200 });
    };
    expect(await exchangeCode({ code: "c", codeVerifier: verifier, fetch })).toEqual({
      key: "k",
      userId: undefined,
    });
    expect(seen).toEqual(["https://openrouter.ai/api/v1/auth/keys"]);
  });

  it("accepts the platform fetch as FetchLike (type-level)", () => {
    const platformFetch: FetchLike = globalThis.fetch;
    expect(typeof platformFetch).toBe("function");
  });

  it("rejects misuse before any request", async () => {
    const before = server.requests.length;
    const base = { baseUrl: server.baseUrl };
    await expect(exchangeCode({ ...base, code: "", codeVerifier: verifier })).rejects.toMatchObject(
      { code: "ERR_INVALID_ARG_VALUE", message: /"code"/ },
    );
    await expect(exchangeCode({ ...base, code: "ok", codeVerifier: "short" })).rejects.toThrow(
      '"codeVerifier" must be 43-128 characters of [A-Za-z0-9-._~]',
    );
    await expect(
      exchangeCode({ ...base, code: "ok" } as Parameters<typeof exchangeCode>[0]),
    ).rejects.toThrow(TypeError);
    expect(server.requests.length).toBe(before);
  });
});
