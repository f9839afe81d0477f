import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disconnect, NetworkError, RevocationUnsupportedError, ServerError } from "../src/index.js";
import {
  closedPort,
  errorBody,
  json,
  startServer,
  type TestServer,
} from "./helpers/http-server.js";

// Against a real Keyport server: test/e2e/demo-app.test.ts (the demo's Disconnect, in Chromium)
// and packages/cli/test/login.test.ts (`keyport logout`).
let keyport: TestServer;

beforeAll(async () => {
  keyport = await startServer((request, res) => {
    if (request.method !== "DELETE" || request.url !== "/api/v1/key") {
      return json(res, 404, errorBody(404, "Not Found"));
    }
    if (request.headers.authorization === "Bearer sk-live") {
      return json(res, 200, { data: { revoked: true } });
    }
    json(res, 401, errorBody(401, "User not found."));
  });
});
afterAll(() => keyport.close());

describe("disconnect(): DELETE /api/v1/key", () => {
  it("a Keyport server revokes the key: { revoked: true }, sent as DELETE with the bearer key", async () => {
    expect(await disconnect({ baseUrl: keyport.baseUrl, key: "sk-live" })).toEqual({
      revoked: true,
    });
    expect(keyport.requests.at(-1)?.headers.authorization).toBe("Bearer sk-live");
  });

  it("a key the server already refuses (401): resolves { revoked: false }", async () => {
    expect(await disconnect({ baseUrl: keyport.baseUrl, key: "sk-gone" })).toEqual({
      revoked: false,
    });
  });

  it.each([404, 405])(
    "a server without the endpoint (OpenRouter, %i): RevocationUnsupportedError, saying what to do",
    async (status) => {
      const openrouter = await startServer((_, res) =>
        json(res, status, errorBody(status, "Nope")),
      );
      try {
        const error = await disconnect({ baseUrl: openrouter.baseUrl, key: "sk-or-v1-x" }).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(RevocationUnsupportedError);
        expect((error as Error).message).toMatch(/revoke it in its key settings/);
        expect(openrouter.requests[0]).toMatchObject({ method: "DELETE", url: "/api/v1/key" });
        expect(openrouter.requests[0]?.headers.authorization).toBe("Bearer sk-or-v1-x");
      } finally {
        await openrouter.close();
      }
    },
  );

  it("a failing server or an unreachable one rejects: nothing is claimed revoked", async () => {
    const broken = await startServer((_, res) => json(res, 503, errorBody(503, "down")));
    try {
      await expect(disconnect({ baseUrl: broken.baseUrl, key: "k" })).rejects.toBeInstanceOf(
        ServerError,
      );
    } finally {
      await broken.close();
    }
    const port = await closedPort();
    await expect(
      disconnect({ baseUrl: `http://127.0.0.1:${port}`, key: "k" }),
    ).rejects.toBeInstanceOf(NetworkError);
  });

  it("an empty key is a usage error, sent nowhere", async () => {
    await expect(disconnect({ baseUrl: keyport.baseUrl, key: "" })).rejects.toThrow(/key/);
  });
});
