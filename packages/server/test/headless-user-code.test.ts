import { beforeAll, describe, expect, it } from "vitest";
import { MAX_USER_CODE_MISSES } from "../src/domain/user-code.js";
import type { RunningServer } from "../src/index.js";
import { approve, Browser } from "./support/browser.js";
import { dialects } from "./support/databases.js";
import {
  exchange,
  keyInfo,
  newVerifier,
  s256,
  type TestClock,
  useServer,
} from "./support/server.js";

const USER_CODE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

describe.each(dialects)("headless consent shows a short user code ($name)", (dialect) => {
  const running = useServer(dialect);
  let server: RunningServer;
  let clock: TestClock;
  let user: Browser;

  beforeAll(async () => {
    ({ server, clock } = running);
    user = new Browser(server.url);
    await user.signUp();
  });

  /** A headless approval: the verifier the terminal holds and the user code the page showed. */
  async function headless() {
    const verifier = newVerifier();
    const shown = await approve(user, {
      code_challenge: s256(verifier),
      code_challenge_method: "S256",
    });
    return { verifier, shown };
  }

  const redeem = (code: string, verifier: string | undefined) =>
    exchange(server.url, { code, code_verifier: verifier, code_challenge_method: "S256" });

  it("the page shows ABCD-EFGH, never the code; typed loosely, it exchanges for a working key", async () => {
    const { verifier, shown } = await headless();
    expect(shown).toMatch(USER_CODE);
    const typed = ` ${shown.toLowerCase().replace("-", " ")} `;
    const answer = await redeem(typed, verifier);
    expect(answer.status).toBe(200);
    const { key } = await answer.json();
    expect((await keyInfo(server.url, key)).status).toBe(200);
  });

  it("the callback flow's code is untouched: 43 characters in the callback, as OpenRouter's", async () => {
    const verifier = newVerifier();
    const code = await approve(user, {
      callback_url: "http://127.0.0.1:9/cb",
      code_challenge: s256(verifier),
      code_challenge_method: "S256",
    });
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await redeem(code, verifier)).status).toBe(200);
  });

  it("the user code with another verifier (or none) fails and burns: the right one then fails too", async () => {
    for (const wrong of [newVerifier(), undefined]) {
      const { verifier, shown } = await headless();
      expect((await redeem(shown, wrong)).status).toBe(403);
      const late = await redeem(shown, verifier);
      expect(late.status).toBe(403);
      expect(await late.json()).toEqual({
        error: { code: 403, message: "Invalid code or code_verifier" },
      });
    }
  });

  it(`guessing with the request's verifier: ${MAX_USER_CODE_MISSES} wrong codes burn it`, async () => {
    const { verifier, shown } = await headless();
    for (let miss = 0; miss < MAX_USER_CODE_MISSES; miss++) {
      expect((await redeem(otherCode(shown, miss), verifier)).status).toBe(403);
    }
    expect((await redeem(shown, verifier)).status).toBe(403);
  });

  it("a typo or a few are forgiven: the right code after fewer misses still works", async () => {
    const { verifier, shown } = await headless();
    for (let miss = 0; miss < MAX_USER_CODE_MISSES - 1; miss++) {
      expect((await redeem(otherCode(shown, miss), verifier)).status).toBe(403);
    }
    expect((await redeem(shown, verifier)).status).toBe(200);
  });

  it("misses with someone else's verifier count against that request only", async () => {
    const mine = await headless();
    const stranger = newVerifier();
    for (let miss = 0; miss < MAX_USER_CODE_MISSES + 2; miss++) {
      expect((await redeem(otherCode(mine.shown, miss), stranger)).status).toBe(403);
    }
    expect((await redeem(mine.shown, mine.verifier)).status).toBe(200);
  });

  it("single-use: the user code replayed with its verifier is refused and revokes its key", async () => {
    const { verifier, shown } = await headless();
    const first = await redeem(shown, verifier);
    expect(first.status).toBe(200);
    const { key } = await first.json();
    expect((await redeem(shown, verifier)).status).toBe(403);
    expect((await keyInfo(server.url, key)).status).toBe(401);
  });

  it("short-lived: after 10 minutes it is expired", async () => {
    const { verifier, shown } = await headless();
    clock.advance(10 * 60_000);
    const answer = await redeem(shown, verifier);
    expect(answer.status).toBe(403);
    expect((await answer.json()).error.message).toBe("Authorization code expired");
  });

  it("brute force from one address meets the exchange rate limit (429)", async () => {
    const limited = await running.another({ exchangeRateLimit: 5 });
    const verifier = newVerifier();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 8; attempt++) {
      const answer = await exchange(limited.url, {
        code: otherCode("AAAA-AAAA", attempt),
        code_verifier: verifier,
      });
      statuses.push(answer.status);
    }
    expect(statuses.slice(0, 5)).toEqual([403, 403, 403, 403, 403]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
  });
});

/** A user code that is not `shown`, different for each `n`. */
function otherCode(shown: string, n: number): string {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const last = shown.at(-1) as string;
  const replacement = alphabet[(alphabet.indexOf(last) + 1 + n) % 32] as string;
  return `${shown.slice(0, -1)}${replacement}`;
}
