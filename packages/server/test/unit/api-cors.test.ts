import { Hono, type MiddlewareHandler } from "hono";
import { cors as honoCors } from "hono/cors";
import { describe, expect, it } from "vitest";
import { apiCors } from "../../src/web/api-cors.js";
import { KeyportError } from "../../src/web/errors.js";

function app() {
  const api = new Hono();
  api.use(
    "/api/*",
    apiCors({
      allowHeaders: ["Authorization", "Content-Type"],
      exposeHeaders: ["X-Request-Id"],
      maxAgeSeconds: 600,
    }),
  );
  api.get("/api/thing", (c) => c.json({ ok: true }));
  api.get("/api/refused", () => {
    throw new KeyportError(401, "User not found.");
  });
  api.onError((error, c) =>
    c.json(
      { error: { message: error.message } },
      error instanceof KeyportError ? (error.status as 401) : 500,
    ),
  );
  return api;
}

describe("apiCors: the API open to every origin, as Hono's cors({ origin: '*' }) answers", () => {
  it("a preflight gets 204 with the methods, headers and max age, and no body or content type", async () => {
    const response = await app().request("/api/thing", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST" },
    });
    expect(response.status).toBe(204);
    expect(Object.fromEntries(response.headers)).toEqual({
      "access-control-allow-origin": "*",
      "access-control-expose-headers": "X-Request-Id",
      "access-control-allow-methods": "GET,HEAD,PUT,POST,DELETE,PATCH,QUERY",
      "access-control-allow-headers": "Authorization,Content-Type",
      "access-control-max-age": "600",
      vary: "Access-Control-Request-Headers",
    });
    expect(await response.text()).toBe("");
  });

  it("an answer carries the origin and exposed headers beside its own", async () => {
    const response = await app().request("/api/thing", {
      headers: { Origin: "https://app.example" },
    });
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-expose-headers")).toBe("X-Request-Id");
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("an error answer carries them too, so a page can read why it was refused", async () => {
    const response = await app().request("/api/refused", {
      headers: { Origin: "https://app.example" },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-expose-headers")).toBe("X-Request-Id");
  });

  it("leaves the handler's answer as it is: Hono's own cors() makes Hono rebuild it", async () => {
    const seen = async (cors: MiddlewareHandler) => {
      const api = new Hono();
      let answered: Response | undefined;
      let sent: Response | undefined;
      api.use("/api/*", async (c, next) => {
        await next();
        sent = c.res;
      });
      api.use("/api/*", cors);
      api.get("/api/thing", (c) => {
        answered = c.json({ ok: true });
        return answered;
      });
      await api.request("/api/thing");
      return sent !== undefined && sent === answered;
    };
    // Rebuilt, an answer's string body becomes a stream that @hono/node-server reads chunk by
    // chunk: what made /api/v1/providers answer 4.1k req/s instead of 6.8k (wrk -c50).
    expect(await seen(honoCors({ origin: "*" }))).toBe(false);
    expect(await seen(apiCors({ allowHeaders: [], exposeHeaders: [], maxAgeSeconds: 1 }))).toBe(
      true,
    );
  });
});
