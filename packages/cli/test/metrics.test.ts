import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeUpstream,
  startUpstream,
  UPSTREAM_SECRET,
} from "../../server/test/gateway/support.js";
import { startTestServer } from "../../server/test/support/server.js";
import { freePort, spawnCli, waitForOk } from "./support/run-cli.js";
import { openStream, prepareCode, storedKey } from "./support/seed.js";

/**
 * Issue 12: Prometheus metrics of a real `keyport serve`, scraped after real traffic, on the
 * metrics port (loopback) and on the main port behind KEYPORT_METRICS_TOKEN.
 */

const TOKEN = "metrics-token-0123456789abcdef";

/** The value of one sample (`name{labels} value`) of a scrape; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value))
      return Number(match[3]);
  }
  return 0;
}

let dir: string;
let upstream: FakeUpstream;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "keyport-metrics-"));
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("keyport serve: Prometheus metrics (real process)", () => {
  it("counters move with real traffic; the metrics port and the main port ask for the token", async () => {
    const database = join(dir, "keyport.sqlite");
    const [port, metricsPort] = [await freePort(), await freePort()];
    const upstreams = [
      {
        name: "fake",
        baseUrl: upstream.url,
        apiKeyEnv: "FAKE_UPSTREAM_KEY",
        models: [{ id: "fake/leaky-429", promptPrice: 0.000001, completionPrice: 0.00001 }],
      },
    ];
    const { key } = await storedKey(database, null);
    const child = spawnCli(
      ["serve", "--port", String(port), "--metrics-port", String(metricsPort)],
      {
        env: {
          KEYPORT_DATABASE: database,
          KEYPORT_METRICS_TOKEN: TOKEN,
          KEYPORT_UPSTREAMS: JSON.stringify(upstreams),
          FAKE_UPSTREAM_KEY: UPSTREAM_SECRET,
          KEYPORT_ECHO_DELAY_MS: "200",
          KEYPORT_LOG_LEVEL: "silent",
        },
      },
    );
    const base = `http://127.0.0.1:${port}`;
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const scrape = async (url = metricsUrl) => {
      const response = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
      return response.text();
    };
    try {
      await waitForOk(`${base}/healthz`, child, 1200);
      expect(child.stderr()).toContain(`Metrics on ${metricsUrl}`);
      const before = await scrape();

      // Exchanges: one that mints a key, one with a wrong verifier (burns the code), and a
      // replay of the first code with its verifier (revokes what it minted).
      const exchange = (code: string, verifier: string) =>
        fetch(`${base}/api/v1/auth/keys`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ code, code_verifier: verifier, code_challenge_method: "S256" }),
        });
      const good = await prepareCode(database);
      expect((await exchange(good.code, good.verifier)).status).toBe(200);
      const wrong = await prepareCode(database);
      expect((await exchange(wrong.code, good.verifier)).status).toBe(403);
      expect((await exchange(good.code, good.verifier)).status).toBe(403);

      const chat = (model: string) =>
        fetch(`${base}/api/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify({ model, messages: [{ role: "user", content: "one two" }] }),
        });
      for (let i = 0; i < 3; i++) expect((await chat("keyport/echo")).status).toBe(200);
      expect((await chat("fake/leaky-429")).status).toBe(429);
      // A stream held open holds a reservation.
      const stream = await openStream(base, key);
      const during = await scrape();
      await stream.cancel();
      const after = await scrape();

      const delta = (name: string, labels: Record<string, string>) =>
        sample(after, name, labels) - sample(before, name, labels);
      expect(delta("keyport_exchanges_total", { outcome: "ok" })).toBe(1);
      expect(delta("keyport_exchanges_total", { outcome: "invalid" })).toBe(1);
      expect(delta("keyport_exchanges_total", { outcome: "replay" })).toBe(1);
      const chatLabels = { route: "/api/v1/chat/completions", method: "POST", status: "200" };
      expect(delta("keyport_http_requests_total", chatLabels)).toBeGreaterThanOrEqual(3);
      expect(delta("keyport_http_request_duration_seconds_count", chatLabels)).toBe(
        delta("keyport_http_requests_total", chatLabels),
      );
      expect(
        delta("keyport_http_requests_total", {
          route: "/api/v1/auth/keys",
          method: "POST",
          status: "403",
        }),
      ).toBe(2);
      expect(
        delta("keyport_gateway_spend_credits_total", { model: "keyport/echo" }),
      ).toBeGreaterThan(0);
      expect(delta("keyport_upstream_errors_total", { upstream: "fake", status: "429" })).toBe(1);
      expect(sample(during, "keyport_reservations_in_flight")).toBe(1);
      expect(sample(before, "keyport_reservations_in_flight")).toBe(0);
      expect(sample(after, "keyport_process_resident_memory_bytes")).toBeGreaterThan(0);
      // No raw paths or ids in the labels.
      expect(after).not.toContain(key);
      expect(after).not.toContain(good.code);

      // The same metrics on the main port with the token; without it, or a wrong one, 401.
      expect(await scrape(`${base}/metrics`)).toContain("keyport_exchanges_total");
      for (const url of [metricsUrl, `${base}/metrics`]) {
        const refusedHeaders: Record<string, string>[] = [
          {},
          { authorization: "Bearer wrong-token-wrong-token" },
        ];
        for (const headers of refusedHeaders) {
          const refused = await fetch(url, { headers });
          expect(refused.status, url).toBe(401);
          expect(((await refused.json()) as { error: { code: number } }).error.code).toBe(401);
        }
      }
      // The metrics port serves nothing else.
      expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(404);
    } finally {
      child.process.kill("SIGTERM");
    }
    expect((await child.exited).code).toBe(0);
  }, 120_000);

  it("without KEYPORT_METRICS_TOKEN the main port has no /metrics (404)", async () => {
    const server = await startTestServer({ url: ":memory:", drop: async () => {} });
    try {
      expect(server.metricsUrl).toBeUndefined();
      const response = await fetch(`${server.url}/metrics`);
      expect(response.status).toBe(404);
      expect(await response.text()).not.toContain("keyport_");
    } finally {
      await server.close();
    }
  });
});
