import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/config.js";

describe("parseConfig: flags, then KEYPORT_* variables, then defaults", () => {
  it("defaults to an embedded SQLite file on 127.0.0.1:8787", () => {
    const config = parseConfig();
    expect(config).toMatchObject({
      port: 8787,
      host: "127.0.0.1",
      database: ".keyport/keyport.sqlite",
      publicUrl: "http://localhost:8787",
      signup: "open",
      trustProxy: false,
      allowedCallbackPrefixes: [],
    });
  });

  it("reads every KEYPORT_* variable", () => {
    const config = parseConfig(
      {},
      {
        KEYPORT_PORT: "9000",
        KEYPORT_HOST: "0.0.0.0",
        KEYPORT_DATABASE: "postgres://db/keyport",
        KEYPORT_PUBLIC_URL: "https://keys.example/",
        KEYPORT_SIGNUP: "closed",
        KEYPORT_TRUST_PROXY: "1",
        KEYPORT_EXCHANGE_RATE_LIMIT: "7",
        KEYPORT_SIGNIN_RATE_LIMIT: "8",
        KEYPORT_SIGNUP_RATE_LIMIT: "9",
        KEYPORT_ALLOWED_CALLBACKS: "https://a.example/, http://localhost:",
      },
    );
    expect(config).toMatchObject({
      port: 9000,
      host: "0.0.0.0",
      database: "postgres://db/keyport",
      publicUrl: "https://keys.example",
      signup: "closed",
      trustProxy: true,
      rateLimits: { exchange: 7, signIn: 8, signUp: 9 },
      allowedCallbackPrefixes: ["https://a.example/", "http://localhost:"],
    });
  });

  it("refuses allowed callbacks that are not absolute URLs, naming the flag", () => {
    expect(() => parseConfig({ allowedCallbacks: "https://app.example, app.example" })).toThrow(
      /--allowed-callbacks \(KEYPORT_ALLOWED_CALLBACKS\).*absolute URL/,
    );
    expect(
      parseConfig({ allowedCallbacks: "https://app.example/cb, http://127.0.0.1" })
        .allowedCallbackPrefixes,
    ).toEqual(["https://app.example/cb", "http://127.0.0.1"]);
  });

  describe("issue 9: PKCE strictness and slow-client deadlines", () => {
    it("defaults: plain and no-challenge codes allowed, 10 s for headers, 30 s for a request", () => {
      expect(parseConfig()).toMatchObject({
        requireS256: false,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
      });
    });

    it("reads --require-s256 and the deadlines from KEYPORT_* variables", () => {
      expect(
        parseConfig(
          {},
          {
            KEYPORT_REQUIRE_S256: "true",
            KEYPORT_HEADERS_TIMEOUT_MS: "2000",
            KEYPORT_REQUEST_TIMEOUT_MS: "5000",
          },
        ),
      ).toMatchObject({ requireS256: true, headersTimeoutMs: 2000, requestTimeoutMs: 5000 });
      expect(parseConfig({ requireS256: true }, { KEYPORT_REQUIRE_S256: "0" }).requireS256).toBe(
        true,
      );
    });

    it.each([
      [{ requireS256: "yes" as "true" }, "--require-s256", "KEYPORT_REQUIRE_S256"],
      [{ headersTimeoutMs: 0 }, "--headers-timeout-ms", "KEYPORT_HEADERS_TIMEOUT_MS"],
      [{ requestTimeoutMs: "soon" }, "--request-timeout-ms", "KEYPORT_REQUEST_TIMEOUT_MS"],
      // Node bounds the headers by the request's deadline too: a longer one would never apply.
      [
        { headersTimeoutMs: 5000, requestTimeoutMs: 4000 },
        "--headers-timeout-ms",
        "KEYPORT_HEADERS_TIMEOUT_MS",
      ],
    ])("%j: a ConfigError naming the flag and the variable", (options, flag, variable) => {
      expect(() => parseConfig(options)).toThrow(ConfigError);
      expect(() => parseConfig(options)).toThrow(flag);
      expect(() => parseConfig(options)).toThrow(variable);
    });
  });

  it("flags win over variables", () => {
    const config = parseConfig(
      { port: "1234", database: "flag.sqlite" },
      { KEYPORT_PORT: "9000", KEYPORT_DATABASE: "env.sqlite" },
    );
    expect(config.port).toBe(1234);
    expect(config.database).toBe("flag.sqlite");
  });

  it("is frozen, rate limits included", () => {
    const config = parseConfig();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.rateLimits)).toBe(true);
    expect(Object.isFrozen(config.allowedCallbackPrefixes)).toBe(true);
  });

  it("does not mutate the options it is given", () => {
    const options = Object.freeze({ port: "1" });
    expect(() => parseConfig(options)).not.toThrow();
  });

  it.each([
    [{ port: "http" }, "--port", "KEYPORT_PORT"],
    [{ port: 65536 }, "--port", "KEYPORT_PORT"],
    [{ signup: "maybe" as "open" }, "--signup", "KEYPORT_SIGNUP"],
    [{ publicUrl: "ftp://x.example" }, "--public-url", "KEYPORT_PUBLIC_URL"],
    [{ exchangeRateLimit: 0 }, "--exchange-rate-limit", "KEYPORT_EXCHANGE_RATE_LIMIT"],
  ])("%j: a ConfigError naming the flag and the variable", (options, flag, variable) => {
    expect(() => parseConfig(options)).toThrow(ConfigError);
    expect(() => parseConfig(options)).toThrow(flag);
    expect(() => parseConfig(options)).toThrow(variable);
  });
});
