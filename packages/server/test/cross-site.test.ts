import { beforeAll, describe, expect, it } from "vitest";
import {
  type AuthParams,
  authPath,
  Browser,
  consentForm,
  csrfTokenOf,
  type Page,
} from "./support/browser.js";
import { dialects } from "./support/databases.js";
import { rawQuery } from "./support/raw-sql.js";
import { newVerifier, s256, useServer } from "./support/server.js";

const WEB: AuthParams = {
  callback_url: "https://app.example/cb",
  code_challenge: s256(newVerifier()),
  code_challenge_method: "S256",
};

/** The headers a browser adds to a form POST that a page on `origin` submitted. */
const FROM_EVIL = { origin: "http://evil.example", "sec-fetch-site": "cross-site" };

/** POSTs a urlencoded form with extra request headers, as `browser` (its cookies included). */
function postFrom(
  browser: Browser,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string>,
): Promise<Page> {
  return browser.request("POST", path, new URLSearchParams(fields).toString(), {
    "content-type": "application/x-www-form-urlencoded",
    ...headers,
  });
}

describe.each(dialects)(
  "DESIGN invariant 5: cross-site POSTs are refused before they touch the session ($name)",
  (dialect) => {
    const running = useServer(dialect);
    let victim: Browser;
    let victimEmail: string;
    let attacker: { email: string; password: string };

    beforeAll(async () => {
      victim = new Browser(running.server.url);
      ({ email: victimEmail } = await victim.signUp());
      attacker = await new Browser(running.server.url).signUp();
    });

    async function signedInAs(browser: Browser): Promise<string | undefined> {
      return /Signed in as <strong>([^<]+)</.exec((await browser.get("/")).html)?.[1];
    }

    async function codeCount(): Promise<number> {
      const [row] = await rawQuery(running.database, "SELECT count(*) AS n FROM codes");
      return Number(row?.n);
    }

    it("sign-in from another site, sent without the Lax cookie: 403 and no Set-Cookie, so the victim stays signed in", async () => {
      // What the browser sends for the victim: no cookie (SameSite=Lax), the attacker's fields.
      const page = await postFrom(
        new Browser(running.server.url),
        "/signin",
        { csrf_token: "x", email: attacker.email, password: attacker.password },
        FROM_EVIL,
      );
      expect(page.status).toBe(403);
      expect(page.headers.getSetCookie()).toEqual([]);
      expect(await signedInAs(victim)).toBe(victimEmail);
    });

    it.each([
      ["Origin of another site", { origin: "http://evil.example" }],
      ["Origin of a sibling subdomain", { origin: "http://evil.localhost" }],
      [
        "Origin null from a sandboxed or data: page",
        { origin: "null", "sec-fetch-site": "cross-site" },
      ],
      ["Sec-Fetch-Site: cross-site without Origin", { "sec-fetch-site": "cross-site" }],
      ["Sec-Fetch-Site: same-site without Origin", { "sec-fetch-site": "same-site" }],
    ])(
      "sign-in carrying the victim's cookie and form token, %s: refused, the victim's session kept",
      async (_, headers) => {
        const token = csrfTokenOf((await victim.get("/signin")).html);
        const page = await postFrom(
          victim,
          "/signin",
          { csrf_token: token, email: attacker.email, password: attacker.password },
          headers,
        );
        expect(page.status).toBe(403);
        expect(page.headers.getSetCookie()).toEqual([]);
        expect(await signedInAs(victim)).toBe(victimEmail);
      },
    );

    it("sign-out from another site: refused, the session still valid", async () => {
      const token = csrfTokenOf((await victim.get("/")).html);
      const page = await postFrom(victim, "/signout", { csrf_token: token }, FROM_EVIL);
      expect(page.status).toBe(403);
      expect(page.headers.getSetCookie()).toEqual([]);
      expect(await signedInAs(victim)).toBe(victimEmail);
    });

    it("consent from another site: refused, no code", async () => {
      const user = new Browser(running.server.url);
      await user.signUp();
      const before = await codeCount();
      const consent = await user.get(authPath(WEB));
      expect(consent.status).toBe(200);
      const page = await postFrom(user, "/auth", consentForm(consent.html, "approve"), FROM_EVIL);
      expect(page.status).toBe(403);
      expect(page.location).toBeUndefined();
      expect(await codeCount()).toBe(before);
    });

    it("sign-up from another site: refused, no cookie", async () => {
      const page = await postFrom(
        new Browser(running.server.url),
        "/signup",
        { csrf_token: "x", email: "new@example.test", password: "correct horse battery staple" },
        FROM_EVIL,
      );
      expect(page.status).toBe(403);
      expect(page.headers.getSetCookie()).toEqual([]);
    });

    it("the server's own pages still work: from its public origin, or the origin it was reached at", async () => {
      const behindProxy = await running.another({ publicUrl: "https://keyport.example" });
      for (const [server, origin] of [
        [behindProxy, "https://keyport.example"],
        [running.server, new URL(running.server.url).origin],
        // Chromium's own form POST from a `Referrer-Policy: no-referrer` page.
        [running.server, "null"],
      ] as const) {
        const browser = new Browser(server.url);
        await browser.signUp();
        const token = csrfTokenOf((await browser.get("/")).html);
        const page = await postFrom(
          browser,
          "/signout",
          { csrf_token: token },
          { origin, "sec-fetch-site": "same-origin" },
        );
        expect(page.status, origin).toBe(303);
        expect(await signedInAs(browser), origin).toBeUndefined();
      }
    });
  },
);
