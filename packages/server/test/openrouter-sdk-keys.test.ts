import {
  CreateAuthKeysCodeResponse$inboundSchema,
  CreateKeysData$inboundSchema,
  GetCurrentKeyData$inboundSchema,
  GetKeyData$inboundSchema,
  ListData$inboundSchema,
  UpdateKeysData$inboundSchema,
} from "@openrouter/sdk/models/operations";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { dialects } from "./support/databases.js";
import { callApi, type ManagedAccount, managedAccount } from "./support/management.js";
import { absentFields, openRouterSdk, sdkParse } from "./support/openrouter-sdk.js";
import { newVerifier, s256, type TestClock, useServer } from "./support/server.js";

const sqlite = dialects[0];
if (!sqlite) throw new Error("no SQLite dialect");

/**
 * The key endpoints as `@openrouter/sdk` reads them: through the SDK's own client (which
 * validates every answer), and field by field against its schemas, optional fields included.
 */
describe("key endpoints against @openrouter/sdk's schemas", () => {
  const running = useServer(sqlite, { gatewayRateLimit: 120 });
  let server: RunningServer;
  let clock: TestClock;
  let alice: ManagedAccount;

  beforeAll(async () => {
    ({ server, clock } = running);
    alice = await managedAccount(server, clock());
  });

  const json = async (response: Response) => {
    expect(response.status).toBeLessThan(300);
    return (await response.json()) as Record<string, unknown> & { data: Record<string, unknown> };
  };

  it("the SDK's client manages keys end to end: create, list, get, update, current key, delete", async () => {
    const sdk = openRouterSdk(server, alice.managementKey);
    const created = await sdk.apiKeys.create({
      requestBody: { name: "from the SDK", limit: 3, limitReset: "weekly" },
    });
    expect(created.data).toMatchObject({
      name: "from the SDK",
      limit: 3,
      limitReset: "weekly",
      byokUsage: 0,
      creatorUserId: alice.userId,
      workspaceId: alice.userId,
      externalUser: null,
    });
    const hash = created.data.hash;
    const listed = await sdk.apiKeys.list();
    expect(listed.data.map((key) => key.hash)).toContain(hash);
    expect((await sdk.apiKeys.get({ hash })).data.label).toBe("from the SDK");
    const updated = await sdk.apiKeys.update({ hash, requestBody: { name: "renamed" } });
    expect(updated.data.name).toBe("renamed");

    const own = await openRouterSdk(server, created.key).apiKeys.getCurrentKeyMetadata();
    expect(own.data).toMatchObject({
      label: "renamed",
      limit: 3,
      limitRemaining: 3,
      allowedDataRegions: ["global"],
      organizationId: null,
      workspaceId: alice.userId,
      creatorUserId: alice.userId,
      rateLimit: { requests: 120, interval: "1m" },
      freeModelDailyRequests: { limit: -1, remaining: -1, used: -1 },
      isManagementKey: false,
    });

    expect(await sdk.apiKeys.delete({ hash })).toEqual({ deleted: true });
    await expect(sdk.apiKeys.get({ hash })).rejects.toMatchObject({ statusCode: 404 });
  });

  it("every field of every key answer is present, none left out", async () => {
    const key = alice.managementKey;
    const created = await json(
      await callApi(server, key, "POST", "/api/v1/keys", { name: "fields", limit: 1 }),
    );
    const hash = created.data.hash as string;
    const answers = [
      [CreateKeysData$inboundSchema, created.data],
      [
        ListData$inboundSchema,
        (await json(await callApi(server, key, "GET", "/api/v1/keys"))).data,
      ],
      [
        GetKeyData$inboundSchema,
        (await json(await callApi(server, key, "GET", `/api/v1/keys/${hash}`))).data,
      ],
      [
        UpdateKeysData$inboundSchema,
        (
          await json(
            await callApi(server, key, "PATCH", `/api/v1/keys/${hash}`, { disabled: true }),
          )
        ).data,
      ],
      [
        GetCurrentKeyData$inboundSchema,
        (await json(await callApi(server, created.key as string, "GET", "/api/v1/key"))).data,
      ],
    ] as const;
    for (const [schema, data] of answers) {
      for (const item of Array.isArray(data) ? data : [data]) {
        sdkParse(schema, item);
        expect(absentFields(schema, item)).toEqual([]);
      }
    }
  });

  it("a gateway without a rate limit says requests: -1", async () => {
    const other = await running.another({ gatewayRateLimit: 0 });
    const account = await managedAccount(other, clock());
    const { data } = await json(await callApi(other, account.managementKey, "GET", "/api/v1/key"));
    expect(data.rate_limit).toMatchObject({ requests: -1, interval: "1m" });
  });

  it("POST /api/v1/auth/keys/code answers an integer app_id, through the SDK's client", async () => {
    const sdk = openRouterSdk(server, alice.managementKey);
    const verifier = newVerifier();
    const answer = await sdk.oAuth.createAuthCode({
      requestBody: {
        callbackUrl: "https://app.example/cb",
        codeChallenge: s256(verifier),
        codeChallengeMethod: "S256",
        keyLabel: "via SDK",
      },
    });
    expect(answer.data).toEqual({
      id: expect.any(String),
      appId: 0,
      createdAt: expect.any(String),
    });
    const exchanged = await openRouterSdk(server).oAuth.exchangeAuthCodeForAPIKey({
      requestBody: { code: answer.data.id, codeVerifier: verifier, codeChallengeMethod: "S256" },
    });
    expect(exchanged.userId).toBe(alice.userId);
    const raw = await json(
      await callApi(server, alice.managementKey, "POST", "/api/v1/auth/keys/code", {
        callback_url: "https://app.example/cb",
      }),
    );
    sdkParse(CreateAuthKeysCodeResponse$inboundSchema, raw);
  });
});
