import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects, type TestDatabase } from "../../server/test/support/databases.js";
import { callApi, echoChat } from "../../server/test/support/management.js";
import { sha256Hex, startTestServer, testClock } from "../../server/test/support/server.js";
import { runInProcess, spawnCli } from "./support/run-cli.js";

const PASSWORD = "a long enough password";
const KEY_LINE = /^sk-kp-v1-[0-9a-f]{64}\n$/;

describe("keyport keys create-management (the real executable)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "keyport-keys-test-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints a management key once, and it manages that account's keys", async () => {
    const database = join(dir, "keyport.sqlite");
    const env = { KEYPORT_DATABASE: database };
    const user = await runInProcess(
      ["users", "create", "--email", "ops@example.test", "--password-stdin"],
      { env, stdin: `${PASSWORD}\n` },
    );
    expect(user.code).toBe(0);
    const result = await spawnCli(
      ["keys", "create-management", "--email", "OPS@example.test", "--database", database],
      { env: { KEYPORT_DATABASE: join(dir, "wrong.sqlite") } },
    ).exited;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(KEY_LINE);
    const server = await startTestServer({ url: database, drop: async () => {} });
    try {
      const response = await callApi(server, result.stdout.trim(), "GET", "/api/v1/keys");
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: [] });
    } finally {
      await server.close();
    }
  });
});

describe.each(dialects)("keyport keys ($name)", (dialect) => {
  let database: TestDatabase;
  const env = () => ({ KEYPORT_DATABASE: database.url });
  const keys = (...args: string[]) => runInProcess(["keys", ...args], { env: env() });

  beforeAll(async () => {
    database = await dialect.fresh();
    const user = await runInProcess(
      ["users", "create", "--email", "admin@example.test", "--password-stdin"],
      { env: env(), stdin: `${PASSWORD}\n` },
    );
    expect(user.code).toBe(0);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("create-management, list, revoke: the revoked key then gets 401", async () => {
    const created = await keys(
      "create-management",
      "--email",
      "admin@example.test",
      "--name",
      "Ops",
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(KEY_LINE);
    const managementKey = created.stdout.trim();

    // The server's clock is the real one, so today's usage is today for `keys list` too.
    const server = await startTestServer(database, {}, testClock(Date.now()));
    try {
      const made = await callApi(server, managementKey, "POST", "/api/v1/keys", {
        name: "app",
        limit: 5,
        limit_reset: "daily",
      });
      expect(made.status).toBe(201);
      const { key, data } = await made.json();
      expect((await echoChat(server, key)).status).toBe(200);
      const info = (await (await callApi(server, key, "GET", "/api/v1/key")).json()).data;
      expect(info.usage).toBeGreaterThan(0);

      // The real executable, as an operator runs it.
      const listed = await spawnCli(["keys", "list", "--email", "admin@example.test"], {
        env: env(),
      }).exited;
      expect(listed.code, listed.stderr).toBe(0);
      const lines = listed.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^HASH +KIND +STATE +TODAY +TOTAL +LIMIT +LEFT +NAME$/);
      const used = String(info.usage);
      const left = String(Number((5 - info.usage).toFixed(6)));
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            new RegExp(`^${sha256Hex(managementKey)} +management +live +0 +0 +none +- +Ops$`),
          ),
          expect.stringMatching(
            new RegExp(`^${data.hash} +key +live +${used} +${used} +5/day +${left} +app$`),
          ),
        ]),
      );
      // Columns: every header word starts where its values start.
      for (const word of ["KIND", "STATE", "TODAY", "TOTAL", "LIMIT", "LEFT", "NAME"]) {
        const column = lines[0]?.indexOf(word) ?? -1;
        for (const line of lines.slice(1)) {
          expect(line[column - 1], `${word} in ${line}`).toBe(" ");
          expect(line[column - 2], `${word} in ${line}`).toBe(" ");
          expect(line[column], `${word} in ${line}`).not.toBe(" ");
        }
      }

      const revoked = await keys("revoke", "--hash", data.hash);
      expect(revoked.code).toBe(0);
      expect((await callApi(server, key, "GET", "/api/v1/key")).status).toBe(401);
      expect((await keys("list", "--email", "admin@example.test")).stdout).not.toContain(data.hash);

      const again = await keys("revoke", "--hash", data.hash);
      expect(again.code).toBe(1);
      expect(again.stderr.trim().split("\n")).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it("an unknown email: exit 1, nothing on stdout", async () => {
    for (const action of ["create-management", "list"]) {
      const result = await keys(action, "--email", "nobody@example.test");
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/no account/);
    }
  });

  it.each([
    [["create-management"], /--email/],
    [["list"], /--email/],
    [["revoke"], /--hash/],
    [["revoke", "--hash", "abc"], /--hash/],
    [["create-management", "--email", "admin@example.test", "--name", ""], /--name/],
    [["rotate"], /keys create-management/],
    [[], /keys create-management/],
  ])("%j: exit 2 with a one-line message", async (args, message) => {
    const result = await keys(...args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });
});
