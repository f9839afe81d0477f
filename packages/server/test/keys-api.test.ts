import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { dialects } from "./support/databases.js";
import { callApi, type ManagedAccount, managedAccount } from "./support/management.js";
import { keyInfo, sha256Hex, type TestClock, useServer } from "./support/server.js";

const KEY_SHAPE = /^sk-kp-v1-[0-9a-f]{64}$/;

describe.each(dialects)("OpenRouter key management: /api/v1/keys ($name)", (dialect) => {
  const running = useServer(dialect);
  let server: RunningServer;
  let clock: TestClock;
  let alice: ManagedAccount;
  let bob: ManagedAccount;

  beforeAll(async () => {
    ({ server, clock } = running);
    alice = await managedAccount(server, clock());
    bob = await managedAccount(server, clock());
  });

  const as = (account: ManagedAccount) => ({
    call: (method: string, path: string, body?: unknown) =>
      callApi(server, account.managementKey, method, path, body),
    async create(body: Record<string, unknown> = { name: "a key" }) {
      const response = await callApi(server, account.managementKey, "POST", "/api/v1/keys", body);
      expect(response.status).toBe(201);
      return (await response.json()) as { key: string; data: Record<string, unknown> };
    },
    async list(query = "") {
      const response = await callApi(server, account.managementKey, "GET", `/api/v1/keys${query}`);
      expect(response.status).toBe(200);
      return ((await response.json()) as { data: { hash: string }[] }).data;
    },
  });

  async function expectError(response: Response, status: number) {
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ error: { code: status, message: expect.any(String) } });
  }

  describe("POST /api/v1/keys", () => {
    it("creates a key, shows it once, and describes it in OpenRouter's shape", async () => {
      const { key, data } = await as(alice).create({
        name: "CI runner",
        limit: 2.5,
        limit_reset: "monthly",
        expires_at: "2026-06-01T00:00:00Z",
      });
      expect(key).toMatch(KEY_SHAPE);
      expect(data).toEqual({
        hash: sha256Hex(key),
        name: "CI runner",
        label: "CI runner",
        disabled: false,
        limit: 2.5,
        limit_remaining: 2.5,
        limit_reset: "monthly",
        include_byok_in_limit: false,
        usage: 0,
        usage_daily: 0,
        usage_weekly: 0,
        usage_monthly: 0,
        byok_usage: 0,
        byok_usage_daily: 0,
        byok_usage_weekly: 0,
        byok_usage_monthly: 0,
        created_at: clock().toISOString(),
        updated_at: null,
        expires_at: "2026-06-01T00:00:00.000Z",
        creator_user_id: alice.userId,
        external_user: null,
        workspace_id: alice.userId,
      });
      const info = await keyInfo(server.url, key);
      expect(info.status).toBe(200);
      expect((await info.json()).data).toMatchObject({
        label: "CI runner",
        limit: 2.5,
        is_management_key: false,
      });
    });

    it("only the hash is stored: reading the key back never shows it", async () => {
      const { key, data } = await as(alice).create();
      const again = await as(alice).call("GET", `/api/v1/keys/${data.hash}`);
      expect(JSON.stringify(await again.json())).not.toContain(key);
    });

    it("a key's expires_at is enforced (injected clock)", async () => {
      const expiresAt = new Date(clock().getTime() + 60_000);
      const { key } = await as(alice).create({
        name: "short",
        expires_at: expiresAt.toISOString(),
      });
      expect((await keyInfo(server.url, key)).status).toBe(200);
      clock.advance(60_000);
      await expectError(await keyInfo(server.url, key), 401);
    });

    it.each([
      ["no name", {}],
      ["an empty name", { name: "  " }],
      ["a name over 100 characters", { name: "x".repeat(101) }],
      ["a negative limit", { name: "k", limit: -1 }],
      ["a limit as a string", { name: "k", limit: "5" }],
      ["an unknown limit_reset", { name: "k", limit_reset: "yearly" }],
      ["expires_at not ISO 8601", { name: "k", expires_at: "next tuesday" }],
      ["expires_at not in UTC", { name: "k", expires_at: "2030-01-01T00:00:00+02:00" }],
      ["expires_at in the past", { name: "k", expires_at: "2020-01-01T00:00:00Z" }],
      ["a JSON array", []],
      ["malformed JSON", "{name:"],
    ])("%s: 400 in the error shape, no key", async (_, body) => {
      const before = (await as(alice).list("?include_disabled=true")).length;
      await expectError(await as(alice).call("POST", "/api/v1/keys", body), 400);
      expect(await as(alice).list("?include_disabled=true")).toHaveLength(before);
    });
  });

  describe("GET /api/v1/keys", () => {
    it("lists the caller's own ordinary keys: not another user's, not management keys", async () => {
      const mine = await as(alice).create({ name: "mine" });
      const theirs = await as(bob).create({ name: "theirs" });
      const hashes = (await as(alice).list()).map((key) => key.hash);
      expect(hashes).toContain(mine.data.hash);
      expect(hashes).not.toContain(theirs.data.hash);
      expect(hashes).not.toContain(alice.managementHash);
      expect(hashes).not.toContain(bob.managementHash);
    });

    it("include_disabled and offset page as OpenRouter's do", async () => {
      const carol = await managedAccount(server, clock());
      const created = [];
      for (const name of ["one", "two", "three"]) created.push(await as(carol).create({ name }));
      const disabled = created[1]?.data.hash;
      const patched = await as(carol).call("PATCH", `/api/v1/keys/${disabled}`, { disabled: true });
      expect(patched.status).toBe(200);

      const live = await as(carol).list();
      expect(live.map((key) => key.hash)).not.toContain(disabled);
      expect(live).toHaveLength(2);
      const all = await as(carol).list("?include_disabled=true");
      expect(all).toHaveLength(3);
      expect(await as(carol).list("?include_disabled=true&offset=1")).toEqual(all.slice(1));
      expect(await as(carol).list("?offset=5")).toEqual([]);
    });

    it.each(["?offset=-1", "?offset=abc", "?offset=1.5", "?include_disabled=maybe"])(
      "%s: 400",
      async (query) => {
        await expectError(await as(alice).call("GET", `/api/v1/keys${query}`), 400);
      },
    );
  });

  describe("GET and PATCH /api/v1/keys/:hash", () => {
    it("GET answers the key; PATCH changes name, disabled, limit and limit_reset", async () => {
      const { key, data } = await as(alice).create({ name: "before" });
      const got = await as(alice).call("GET", `/api/v1/keys/${data.hash}`);
      expect(got.status).toBe(200);
      expect((await got.json()).data).toEqual(data);

      const patched = await as(alice).call("PATCH", `/api/v1/keys/${data.hash}`, {
        name: "after",
        disabled: true,
        limit: 7,
        limit_reset: "daily",
      });
      expect(patched.status).toBe(200);
      expect((await patched.json()).data).toMatchObject({
        hash: data.hash,
        name: "after",
        disabled: true,
        limit: 7,
        limit_remaining: 7,
        limit_reset: "daily",
      });
      expect((await (await keyInfo(server.url, key)).json()).data).toMatchObject({
        label: "after",
        disabled: true,
        limit: 7,
      });

      const cleared = await as(alice).call("PATCH", `/api/v1/keys/${data.hash}`, {
        limit: null,
        limit_reset: null,
      });
      expect((await cleared.json()).data).toMatchObject({
        name: "after",
        disabled: true,
        limit: null,
        limit_reset: null,
      });
    });

    it("an empty PATCH changes nothing", async () => {
      const { data } = await as(alice).create({ name: "same", limit: 1 });
      const patched = await as(alice).call("PATCH", `/api/v1/keys/${data.hash}`, {});
      expect(patched.status).toBe(200);
      expect((await patched.json()).data).toEqual(data);
    });

    it.each([
      ["disabled as a string", { disabled: "yes" }],
      ["a negative limit", { limit: -1 }],
      ["an empty name", { name: "" }],
      ["an unknown limit_reset", { limit_reset: "hourly" }],
    ])("PATCH with %s: 400, the key unchanged", async (_, body) => {
      const { data } = await as(alice).create({ name: "stays" });
      await expectError(await as(alice).call("PATCH", `/api/v1/keys/${data.hash}`, body), 400);
      const got = await as(alice).call("GET", `/api/v1/keys/${data.hash}`);
      expect((await got.json()).data).toEqual(data);
    });

    it("a malformed hash: 400; an unknown one: 404", async () => {
      await expectError(await as(alice).call("GET", "/api/v1/keys/not-a-hash"), 400);
      await expectError(await as(alice).call("GET", `/api/v1/keys/${"A".repeat(64)}`), 400);
      const unknown = randomBytes(32).toString("hex");
      await expectError(await as(alice).call("GET", `/api/v1/keys/${unknown}`), 404);
      await expectError(await as(alice).call("PATCH", `/api/v1/keys/${unknown}`, {}), 404);
      await expectError(await as(alice).call("DELETE", `/api/v1/keys/${unknown}`), 404);
    });
  });

  describe("DELETE /api/v1/keys/:hash", () => {
    it("revokes: the key then gets 401, is gone from the list, and a second DELETE is 404", async () => {
      const { key, data } = await as(alice).create({ name: "doomed" });
      expect((await keyInfo(server.url, key)).status).toBe(200);
      const deleted = await as(alice).call("DELETE", `/api/v1/keys/${data.hash}`);
      expect(deleted.status).toBe(200);
      expect(await deleted.json()).toEqual({ deleted: true });
      await expectError(await keyInfo(server.url, key), 401);
      expect((await as(alice).list("?include_disabled=true")).map((k) => k.hash)).not.toContain(
        data.hash,
      );
      await expectError(await as(alice).call("GET", `/api/v1/keys/${data.hash}`), 404);
      await expectError(await as(alice).call("PATCH", `/api/v1/keys/${data.hash}`, {}), 404);
      await expectError(await as(alice).call("DELETE", `/api/v1/keys/${data.hash}`), 404);
    });
  });

  describe("isolation between users", () => {
    it("another user's key: 404 on GET, PATCH and DELETE, and it keeps working", async () => {
      const { key, data } = await as(bob).create({ name: "bob's" });
      const path = `/api/v1/keys/${data.hash}`;
      await expectError(await as(alice).call("GET", path), 404);
      await expectError(await as(alice).call("PATCH", path, { disabled: true, name: "x" }), 404);
      await expectError(await as(alice).call("DELETE", path), 404);
      const info = await keyInfo(server.url, key);
      expect(info.status).toBe(200);
      expect((await info.json()).data).toMatchObject({ label: "bob's", disabled: false });
    });

    it("a management key (even one's own) is not managed through the API: 404", async () => {
      for (const hash of [alice.managementHash, bob.managementHash]) {
        const path = `/api/v1/keys/${hash}`;
        await expectError(await as(alice).call("GET", path), 404);
        await expectError(await as(alice).call("PATCH", path, { disabled: true }), 404);
        await expectError(await as(alice).call("DELETE", path), 404);
      }
      expect((await keyInfo(server.url, alice.managementKey)).status).toBe(200);
    });
  });

  describe("authentication", () => {
    const routes = (hash: string): [string, string, unknown][] => [
      ["GET", "/api/v1/keys", undefined],
      ["POST", "/api/v1/keys", { name: "x" }],
      ["GET", `/api/v1/keys/${hash}`, undefined],
      ["PATCH", `/api/v1/keys/${hash}`, { disabled: true }],
      ["DELETE", `/api/v1/keys/${hash}`, undefined],
      ["POST", "/api/v1/auth/keys/code", { callback_url: "https://app.example/cb" }],
    ];

    it("no key or an unknown key: 401 on every management endpoint", async () => {
      const { data } = await as(alice).create();
      const unknown = `sk-kp-v1-${randomBytes(32).toString("hex")}`;
      for (const [method, path, body] of routes(String(data.hash))) {
        await expectError(await callApi(server, undefined, method, path, body), 401);
        await expectError(await callApi(server, unknown, method, path, body), 401);
      }
      expect((await as(alice).call("GET", `/api/v1/keys/${data.hash}`)).status).toBe(200);
    });

    it("an ordinary key: 403 on every management endpoint, and nothing changes", async () => {
      const { key, data } = await as(alice).create({ name: "ordinary" });
      for (const [method, path, body] of routes(String(data.hash))) {
        await expectError(await callApi(server, key, method, path, body), 403);
      }
      const got = await as(alice).call("GET", `/api/v1/keys/${data.hash}`);
      expect((await got.json()).data).toEqual(data);
    });

    it("a revoked management key: 401", async () => {
      const dave = await managedAccount(server, clock());
      expect((await as(dave).call("GET", "/api/v1/keys")).status).toBe(200);
      expect(await server.store.revokeKey(dave.managementHash, clock())).toBe(true);
      await expectError(await as(dave).call("GET", "/api/v1/keys"), 401);
    });
  });
});
