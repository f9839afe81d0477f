import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { dialects, type TestDatabase } from "../support/databases.js";
import { callApi, echoChat, type ManagedAccount, managedAccount } from "../support/management.js";
import { startTestServer, type TestClock, testClock } from "../support/server.js";

describe.each(dialects)("the gateway and the management API ($name)", (dialect) => {
  let database: TestDatabase;
  let server: RunningServer;
  let clock: TestClock;
  let owner: ManagedAccount;

  beforeAll(async () => {
    database = await dialect.fresh();
    clock = testClock();
    server = await startTestServer(database, {}, clock);
    owner = await managedAccount(server, clock());
  });

  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  const manage = (method: string, path: string, body?: unknown) =>
    callApi(server, owner.managementKey, method, path, body);

  async function newKey(body: Record<string, unknown> = { name: "gateway" }) {
    const response = await manage("POST", "/api/v1/keys", body);
    expect(response.status).toBe(201);
    return (await response.json()) as { key: string; data: { hash: string } };
  }

  async function expectError(response: Response, status: number, message?: string) {
    expect(response.status).toBe(status);
    const body = await response.json();
    expect(body.error.code).toBe(status);
    if (message) expect(body.error.message).toBe(message);
  }

  it("a management key is refused on chat completions: 403, nothing metered", async () => {
    await expectError(
      await echoChat(server, owner.managementKey),
      403,
      "Management keys cannot be used for completions",
    );
    expect(await server.store.listRequests(owner.managementHash, 10)).toEqual([]);
  });

  it("a key created through the API works on the gateway", async () => {
    const { key } = await newKey();
    expect((await echoChat(server, key)).status).toBe(200);
  });

  it("disabled with PATCH: 403 on the gateway; enabled again: 200", async () => {
    const { key, data } = await newKey();
    expect((await manage("PATCH", `/api/v1/keys/${data.hash}`, { disabled: true })).status).toBe(
      200,
    );
    await expectError(await echoChat(server, key), 403, "Key is disabled");
    expect((await manage("PATCH", `/api/v1/keys/${data.hash}`, { disabled: false })).status).toBe(
      200,
    );
    expect((await echoChat(server, key)).status).toBe(200);
  });

  it("a limit set with PATCH is enforced (402); lifted again, requests pass", async () => {
    const { key, data } = await newKey();
    expect((await echoChat(server, key)).status).toBe(200);
    const path = `/api/v1/keys/${data.hash}`;
    expect((await manage("PATCH", path, { limit: 0.000001 })).status).toBe(200);
    await expectError(await echoChat(server, key), 402);
    expect((await manage("PATCH", path, { limit: null })).status).toBe(200);
    expect((await echoChat(server, key)).status).toBe(200);
  });

  it("revoked with DELETE: 401 on the gateway", async () => {
    const { key, data } = await newKey();
    expect((await manage("DELETE", `/api/v1/keys/${data.hash}`)).status).toBe(200);
    await expectError(await echoChat(server, key), 401);
  });
});
