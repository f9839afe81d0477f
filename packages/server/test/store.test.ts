import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../src/index.js";
import type { NewCode, NewKey } from "../src/store/store.js";
import { approve, Browser, csrfTokenOf } from "./support/browser.js";
import { dialects } from "./support/databases.js";
import { exchange, keyInfo, newVerifier, s256, startTestServer } from "./support/server.js";
import { useStore } from "./support/use-store.js";

const T0 = new Date("2026-01-01T00:00:00.000Z");
const later = (ms: number) => new Date(T0.getTime() + ms);
const hex = () => randomBytes(32).toString("hex");

/** A replay's proof of possession, as the exchange would judge it: here, always proven. */
const proven = () => true;

describe.each(dialects)("Store ($name)", (dialect) => {
  const opened = useStore(dialect);
  let userId: string;

  beforeAll(async () => {
    userId = await newUser(opened.store);
  });

  async function newUser(target: Store): Promise<string> {
    const id = `user_${hex().slice(0, 16)}`;
    const user = await target.createUser({
      id,
      email: `${id}@example.test`,
      passwordHash: "$argon2id$not-a-real-hash",
      createdAt: T0,
    });
    expect(user?.id).toBe(id);
    return id;
  }

  function newCode(overrides: Partial<NewCode> = {}): NewCode {
    return {
      codeHash: hex(),
      userId,
      codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      codeChallengeMethod: "S256",
      callbackUrl: "https://app.example/cb?x=1",
      keyLabel: "Label",
      limitMicros: 5_000_000,
      limitReset: "monthly",
      keyExpiresAt: later(86_400_000),
      createdAt: T0,
      expiresAt: later(600_000),
      ...overrides,
    };
  }

  function newKey(overrides: Partial<NewKey> = {}): NewKey {
    return {
      hash: hex(),
      userId,
      label: "Label",
      limitMicros: null,
      limitReset: null,
      expiresAt: null,
      createdAt: T0,
      ...overrides,
    };
  }

  describe("users", () => {
    it("refuses a second account with the same email", async () => {
      const email = `dup-${hex().slice(0, 8)}@example.test`;
      const base = { email, passwordHash: "x", createdAt: T0 };
      expect(await opened.store.createUser({ id: `user_${hex()}`, ...base })).toBeDefined();
      expect(await opened.store.createUser({ id: `user_${hex()}`, ...base })).toBeUndefined();
      expect((await opened.store.findUserByEmail(email))?.email).toBe(email);
    });
  });

  describe("sessions", () => {
    it("are found until they expire, and gone once deleted", async () => {
      const idHash = hex();
      await opened.store.createSession({ idHash, userId, createdAt: T0, expiresAt: later(1000) });
      expect((await opened.store.findSession(idHash, later(999)))?.userId).toBe(userId);
      expect(await opened.store.findSession(idHash, later(1000))).toBeUndefined();
      await opened.store.deleteSession(idHash);
      expect(await opened.store.findSession(idHash, T0)).toBeUndefined();
    });
  });

  const refuse = () => ({ refusal: "refused" as const });

  describe("redeemCode (DESIGN invariant 3)", () => {
    it("hands the code as stored to mint, once", async () => {
      const code = newCode();
      await opened.store.createCode(code);
      const seen: unknown[] = [];
      const redeemed = await opened.store.redeemCode(code.codeHash, hex(), later(1), (stored) => {
        seen.push(stored);
        return { refusal: "refused" };
      });
      expect(redeemed).toEqual({ code, refusal: "refused" });
      expect(seen).toEqual([code]);
      expect(await opened.store.redeemCode(code.codeHash, hex(), later(2), refuse)).toBeUndefined();
    });

    it("round-trips a code without challenge, callback or limits", async () => {
      const code = newCode({
        codeChallenge: null,
        codeChallengeMethod: null,
        callbackUrl: null,
        limitMicros: null,
        limitReset: null,
        keyExpiresAt: null,
      });
      await opened.store.createCode(code);
      expect((await opened.store.redeemCode(code.codeHash, hex(), T0, refuse))?.code).toEqual(code);
    });

    it("an unknown code: undefined, and mint is not called", async () => {
      let called = false;
      const redeemed = await opened.store.redeemCode(hex(), hex(), T0, () => {
        called = true;
        return { refusal: "refused" };
      });
      expect(redeemed).toBeUndefined();
      expect(called).toBe(false);
    });

    it("a refused code stays consumed (a wrong verifier burns it) and no key is stored", async () => {
      const code = newCode();
      await opened.store.createCode(code);
      expect(await opened.store.redeemCode(code.codeHash, hex(), later(1), refuse)).toBeDefined();
      const key = newKey();
      expect(
        await opened.store.redeemCode(code.codeHash, key.hash, later(2), () => ({ terms: key })),
      ).toBeUndefined();
      expect(await opened.store.findKey(key.hash)).toBeUndefined();
    });

    it("20 concurrent redemptions of one code: exactly one winner, exactly one key", async () => {
      const code = newCode();
      await opened.store.createCode(code);
      const keys = Array.from({ length: 20 }, () => newKey());
      const results = await Promise.all(
        keys.map((key) =>
          opened.store.redeemCode(code.codeHash, key.hash, later(1), () => ({ terms: key })),
        ),
      );
      expect(results.filter((result) => result !== undefined)).toHaveLength(1);
      const stored = await Promise.all(keys.map((key) => opened.store.findKey(key.hash)));
      expect(stored.filter(Boolean)).toHaveLength(1);
    });

    it("concurrent redemptions share a group commit, and one failing write fails alone", async () => {
      const first = newCode();
      const second = newCode();
      const third = newCode();
      for (const code of [first, second, third]) await opened.store.createCode(code);
      const shared = newKey();
      const other = newKey();
      const results = await Promise.allSettled([
        opened.store.redeemCode(first.codeHash, shared.hash, later(1), () => ({ terms: shared })),
        // Same key hash: its INSERT violates the primary key, in the same batch as the others.
        opened.store.redeemCode(second.codeHash, shared.hash, later(1), () => ({ terms: shared })),
        opened.store.redeemCode(third.codeHash, other.hash, later(1), () => ({ terms: other })),
      ]);
      // Batches may run in any order (PostgreSQL sorts them): one of the two sharing a hash fails.
      const statuses = results.map((result) => result.status);
      expect(statuses.filter((status) => status === "rejected")).toHaveLength(1);
      expect(statuses[2]).toBe("fulfilled");
      expect(await opened.store.findKey(shared.hash)).toBeDefined();
      expect(await opened.store.findKey(other.hash)).toBeDefined();
      // The failed redemption rolled back whole: its code was not consumed.
      const failed = statuses[0] === "rejected" ? first : second;
      expect(
        (await opened.store.redeemCode(failed.codeHash, hex(), later(2), refuse))?.code,
      ).toEqual(failed);
    });

    it("two stores (two instances' pools) racing for one code: exactly one wins, one key", async () => {
      // Within one store, group commit runs writes one after another, so only separate
      // connections can race at the database; that is where consume-then-insert must hold.
      const other = await openStore(opened.database.url);
      try {
        for (let round = 0; round < 5; round++) {
          const code = newCode();
          await opened.store.createCode(code);
          const keys = Array.from({ length: 20 }, () => newKey());
          const results = await Promise.all(
            keys.map((key, i) =>
              (i % 2 === 0 ? opened.store : other).redeemCode(
                code.codeHash,
                key.hash,
                later(1),
                () => ({
                  terms: key,
                }),
              ),
            ),
          );
          expect(results.filter((result) => result !== undefined)).toHaveLength(1);
          const stored = await Promise.all(keys.map((key) => opened.store.findKey(key.hash)));
          expect(stored.filter(Boolean)).toHaveLength(1);
        }
      } finally {
        await other.close();
      }
    });

    it("stores the minted key's fields", async () => {
      const code = newCode();
      await opened.store.createCode(code);
      const key = newKey({ limitMicros: 7, limitReset: "daily", expiresAt: later(10) });
      await opened.store.redeemCode(code.codeHash, key.hash, later(1), () => ({ terms: key }));
      expect(await opened.store.findKey(key.hash)).toMatchObject({
        ...key,
        usageMicros: 0,
        isManagement: false,
        disabled: false,
        revokedAt: null,
      });
    });
  });

  describe("revokeReplayedCode (RFC 6749 §4.1.2)", () => {
    it("a replay that does not prove possession: false, and the key stays live", async () => {
      const code = newCode();
      await opened.store.createCode(code);
      const key = newKey();
      await opened.store.redeemCode(code.codeHash, key.hash, later(1), () => ({ terms: key }));
      const seen: unknown[] = [];
      const unproven = (stored: unknown) => {
        seen.push(stored);
        return false;
      };
      expect(await opened.store.revokeReplayedCode(code.codeHash, later(5), unproven)).toBe(false);
      expect(seen).toEqual([code]);
      expect((await opened.store.findKey(key.hash))?.revokedAt).toBeNull();
      expect(await opened.store.revokeReplayedCode(code.codeHash, later(6), proven)).toBe(true);
      expect((await opened.store.findKey(key.hash))?.revokedAt).toEqual(later(6));
    });

    it("an unknown or unconsumed code: false, and the unconsumed one stays redeemable", async () => {
      expect(await opened.store.revokeReplayedCode(hex(), T0, proven)).toBe(false);
      const code = newCode();
      await opened.store.createCode(code);
      expect(await opened.store.revokeReplayedCode(code.codeHash, T0, proven)).toBe(false);
      expect(await opened.store.redeemCode(code.codeHash, hex(), T0, refuse)).toBeDefined();
    });

    it("revokes the key the consumed code minted, and no other", async () => {
      const code = newCode();
      await opened.store.createCode(code);
      const key = newKey();
      await opened.store.redeemCode(code.codeHash, key.hash, later(1), () => ({ terms: key }));
      const bystander = newKey();
      const otherCode = newCode();
      await opened.store.createCode(otherCode);
      await opened.store.redeemCode(otherCode.codeHash, bystander.hash, later(1), () => ({
        terms: bystander,
      }));
      expect((await opened.store.findKey(key.hash))?.revokedAt).toBeNull();

      expect(await opened.store.revokeReplayedCode(code.codeHash, later(5), proven)).toBe(true);
      expect((await opened.store.findKey(key.hash))?.revokedAt).toEqual(later(5));
      expect((await opened.store.findKey(bystander.hash))?.revokedAt).toBeNull();

      expect(await opened.store.revokeReplayedCode(code.codeHash, later(9), proven)).toBe(true);
      expect((await opened.store.findKey(key.hash))?.revokedAt).toEqual(later(5));
    });
  });

  describe("deleteExpired()", () => {
    it("deletes expired sessions and long-expired codes, and nothing still usable", async () => {
      const db = await dialect.fresh();
      const fresh = await openStore(db.url);
      try {
        const owner = await newUser(fresh);
        const live = { idHash: hex(), userId: owner, createdAt: T0, expiresAt: later(10_000) };
        const dead = { idHash: hex(), userId: owner, createdAt: T0, expiresAt: later(1_000) };
        await fresh.createSession(live);
        await fresh.createSession(dead);
        const recent = newCode({ userId: owner, expiresAt: later(1_000) });
        const old = newCode({ userId: owner, expiresAt: later(-100_000) });
        await fresh.createCode(recent);
        await fresh.createCode(old);

        expect(await fresh.deleteExpired(later(2_000), 50_000)).toBe(2);
        expect(await fresh.findSession(live.idHash, later(2_000))).toBeDefined();
        expect(await fresh.findSession(dead.idHash, T0)).toBeUndefined();
        expect(await fresh.redeemCode(old.codeHash, hex(), T0, refuse)).toBeUndefined();
        expect(await fresh.revokeReplayedCode(recent.codeHash, T0, proven)).toBe(false);
        expect((await fresh.redeemCode(recent.codeHash, hex(), T0, refuse))?.code).toEqual(recent);
      } finally {
        await fresh.close();
        await db.drop();
      }
    });
  });

  describe("secret()", () => {
    it("first writer wins", async () => {
      const name = `s-${hex().slice(0, 8)}`;
      expect(await opened.store.secret(name, () => "first")).toBe("first");
      expect(await opened.store.secret(name, () => "second")).toBe("first");
    });

    it("concurrent first calls all read the one value that was stored", async () => {
      const name = `s-${hex().slice(0, 8)}`;
      const values = await Promise.all(
        Array.from({ length: 10 }, (_, i) => opened.store.secret(name, () => `value-${i}`)),
      );
      expect(new Set(values).size).toBe(1);
    });
  });

  describe("nothing lost on restart", () => {
    it("a closed and reopened store has every row", async () => {
      const db = await dialect.fresh();
      try {
        const first = await openStore(db.url);
        const owner = await newUser(first);
        const code = newCode({ userId: owner });
        await first.createCode(code);
        const key = newKey({ userId: owner });
        const used = newCode({ userId: owner });
        await first.createCode(used);
        await first.redeemCode(used.codeHash, key.hash, T0, () => ({ terms: key }));
        const idHash = hex();
        await first.createSession({ idHash, userId: owner, createdAt: T0, expiresAt: later(1e6) });
        const secret = await first.secret("csrf", () => "kept");
        await first.close();

        const second = await openStore(db.url);
        try {
          expect((await second.findUserById(owner))?.id).toBe(owner);
          expect((await second.findSession(idHash, T0))?.userId).toBe(owner);
          expect((await second.findKey(key.hash))?.label).toBe("Label");
          expect(await second.redeemCode(used.codeHash, hex(), T0, refuse)).toBeUndefined();
          expect((await second.redeemCode(code.codeHash, hex(), T0, refuse))?.code).toEqual(code);
          expect(await second.secret("csrf", () => "new")).toBe(secret);
        } finally {
          await second.close();
        }
      } finally {
        await db.drop();
      }
    });

    it("a server restarted on the same database keeps keys and sessions", async () => {
      const db = await dialect.fresh();
      try {
        const first = await startTestServer(db);
        const browser = new Browser(first.url);
        await browser.signUp();
        const verifier = newVerifier();
        const code = await approve(browser, {
          callback_url: "https://app.example/cb",
          code_challenge: s256(verifier),
          code_challenge_method: "S256",
        });
        const { key } = await (
          await exchange(first.url, {
            code,
            code_verifier: verifier,
            code_challenge_method: "S256",
          })
        ).json();
        const pending = await approve(browser, {
          callback_url: "https://app.example/cb",
          code_challenge: s256(verifier),
          code_challenge_method: "S256",
        });
        const tokenBefore = csrfTokenOf((await browser.get("/")).html);
        await first.close();

        const second = await startTestServer(db);
        try {
          expect((await keyInfo(second.url, key)).status).toBe(200);
          const moved = new Browser(second.url);
          for (const [name, value] of browser.cookies) moved.cookies.set(name, value);
          expect((await moved.get("/")).html).toContain("Signed in as");
          const redeemed = await exchange(second.url, {
            code: pending,
            code_verifier: verifier,
            code_challenge_method: "S256",
          });
          expect(redeemed.status).toBe(200);
          // CSRF tokens derive from the stored secret: a page from before the restart still posts.
          const signedOut = await moved.post("/signout", { csrf_token: tokenBefore });
          expect(signedOut.status).toBe(303);
        } finally {
          await second.close();
        }
      } finally {
        await db.drop();
      }
    });
  });
});
