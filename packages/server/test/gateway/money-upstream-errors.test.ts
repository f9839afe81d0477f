import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { type Dialect, dialects, type TestDatabase } from "../support/databases.js";
import {
  chat,
  type FakeUpstream,
  LEAKED_ACCOUNT,
  LEAKED_HOST,
  mintKeyFor,
  startKeyport,
  startUpstream,
  UPSTREAM_SECRET,
} from "./support.js";

/**
 * Issue 8, item 6 (DESIGN invariant 9): upstream error text goes to the log, never to the client.
 * `fake/leaky*` answers errors whose body and headers carry the operator's upstream key (the
 * request's Authorization header, echoed), an internal host name and an account id.
 */

const hi = [{ role: "user", content: "hi" }];
const SECRETS = [UPSTREAM_SECRET, LEAKED_HOST, LEAKED_ACCOUNT, "db.internal.example"];

/** Every header of a response, as one string. */
const headerText = (response: Response) =>
  [...response.headers.entries()].map(([name, value]) => `${name}: ${value}`).join("\n");

describe.each(dialects)("issue 8.6: upstream errors are sanitized ($name)", (dialect: Dialect) => {
  let db: TestDatabase;
  let upstream: FakeUpstream;
  let server: RunningServer;
  let key: string;
  let errors: MockInstance<typeof console.error>;

  beforeAll(async () => {
    db = await dialect.fresh();
    upstream = await startUpstream();
    server = await startKeyport(db, upstream);
    ({ key } = await mintKeyFor(server, { limit: 10 }));
  });
  afterAll(async () => {
    await server.close();
    await upstream.close();
    await db.drop();
  });

  /** The log lines written while `run` ran. */
  async function logged<T>(run: () => Promise<T>): Promise<{ result: T; log: string }> {
    errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const result = await run();
      const log = [...errors.mock.calls, ...warnings.mock.calls]
        .map((call) =>
          call
            .map((part) => (part instanceof Error ? part.stack : String(part)))
            .join(" ")
            .replace(/\n/g, " "),
        )
        .join("\n");
      return { result, log };
    } finally {
      vi.restoreAllMocks();
    }
  }

  const cases: [string, number, number][] = [
    ["fake/leaky", 500, 502],
    ["fake/leaky-400", 400, 400],
    ["fake/leaky-422", 422, 400],
    ["fake/leaky-429", 429, 429],
  ];
  for (const [model, upstreamStatus, status] of cases) {
    it(`an upstream ${upstreamStatus} reaches the client as ${status} in OpenRouter's shape, with a request id and none of the upstream's text (${model})`, async () => {
      const { result, log } = await logged(async () => {
        const response = await chat(server, key, { model, messages: hi });
        return { response, text: await response.text() };
      });
      const { response, text } = result;
      expect(response.status).toBe(status);
      const body = JSON.parse(text) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(status);
      expect(typeof body.error.message).toBe("string");
      for (const secret of SECRETS) {
        expect(text, "the body").not.toContain(secret);
        expect(headerText(response), "the headers").not.toContain(secret);
      }
      expect(text).not.toContain("internal error");
      if (status === 429) expect(response.headers.get("retry-after")).toBe("7");
      const requestId = response.headers.get("x-request-id");
      expect(requestId, "an x-request-id header").toMatch(/\S{8,}/);
      expect(body.error.message).toContain(requestId as string);
      // The operator finds the upstream's own words in the log under that id.
      const line = log
        .split("\n")
        .find((entry) => entry.includes(requestId as string) && entry.includes(LEAKED_HOST));
      expect(line, `a log line with ${requestId} and the upstream's text`).toBeDefined();
    });
  }

  it("an upstream error event mid-stream reaches the client as a generic error event with the request id", async () => {
    const { result, log } = await logged(async () => {
      const response = await chat(server, key, { model: "fake/leaky", stream: true, messages: hi });
      return { response, text: await response.text() };
    });
    const { response, text } = result;
    expect(response.status).toBe(200);
    for (const secret of SECRETS) {
      expect(text, "the stream").not.toContain(secret);
      expect(headerText(response), "the headers").not.toContain(secret);
    }
    expect(text).not.toContain("internal error");
    const events = text.split("\n\n").filter((event) => event.startsWith("data: "));
    expect(events.some((event) => event.includes('"content":"Hello"'))).toBe(true);
    const last = JSON.parse((events.at(-1) as string).slice(6)) as {
      error: { code: number; message: string };
    };
    expect(last.error.code).toBe(502);
    const requestId = response.headers.get("x-request-id");
    expect(requestId, "an x-request-id header").toMatch(/\S{8,}/);
    expect(last.error.message).toContain(requestId as string);
    const line = log
      .split("\n")
      .find((entry) => entry.includes(requestId as string) && entry.includes(LEAKED_HOST));
    expect(line, `a log line with ${requestId} and the upstream's text`).toBeDefined();
  });
});
