import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getKeyInfo, ProtocolError, UnauthorizedError } from "../src/index.js";
import { errorBody, json, startServer, type TestServer } from "./helpers/http-server.js";

const data = {
  label: "My app",
  limit: 10,
  limit_remaining: 9.5,
  limit_reset: "monthly",
  usage: 0.5,
  usage_daily: 0.5,
  usage_weekly: 0.5,
  usage_monthly: 0.5,
  is_free_tier: false,
  is_management_key: false,
  expires_at: null,
  rate_limit: { requests: 10, interval: "10s" },
};

let server: TestServer;

beforeAll(async () => {
  server = await startServer((request, res) => {
    const auth = request.headers.authorization;
    if (request.url !== "/api/v1/key") return json(res, 404, errorBody(404, "Not Found"));
    if (auth === "Bearer sk-good") return json(res, 200, { data });
    if (auth === "Bearer sk-odd") return json(res, 200, { data: { ...data, usage: "0.5" } });
    json(res, 401, errorBody(401, "Invalid API key"));
  });
});

afterAll(() => server.close());

describe("getKeyInfo: GET /api/v1/key", () => {
  it("returns data as sent, including fields it does not know", async () => {
    expect(await getKeyInfo({ baseUrl: server.baseUrl, key: "sk-good" })).toEqual(data);
  });

  it("401 → UnauthorizedError with the server's message", async () => {
    const error = await getKeyInfo({ baseUrl: server.baseUrl, key: "sk-bad" }).catch((e) => e);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect(error).toMatchObject({ status: 401, message: "Invalid API key" });
  });

  it("a malformed field → ProtocolError naming it", async () => {
    await expect(getKeyInfo({ baseUrl: server.baseUrl, key: "sk-odd" })).rejects.toThrow(
      new ProtocolError('"data.usage" is missing or malformed'),
    );
  });
});
