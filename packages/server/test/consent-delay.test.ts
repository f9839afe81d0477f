import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { type AuthParams, authPath, Browser, consentForm } from "./support/browser.js";
import { dialects } from "./support/databases.js";
import { rawQuery } from "./support/raw-sql.js";
import { newVerifier, s256, useServer } from "./support/server.js";

const WEB: AuthParams = {
  callback_url: "https://app.example/cb",
  code_challenge: s256(newVerifier()),
  code_challenge_method: "S256",
};

/** The message a form shows in its `role="alert"` paragraph. */
function alertOf(html: string): string | undefined {
  return /role="alert">([^<]*)</.exec(html)?.[1]?.trim();
}

function shownAtOf(html: string): string {
  const value = /name="shown_at" value="([^"]+)"/.exec(html)?.[1];
  if (!value) throw new Error(`no shown_at on the page:\n${html}`);
  return value;
}

describe.each(dialects)(
  "DESIGN invariant 5: no approval sooner than a second after the consent page was shown ($name)",
  (dialect) => {
    // The server's clock is the test's: a second passes without sleeping.
    const running = useServer(dialect, { consentDelayMs: 1000 });
    let user: Browser;

    beforeAll(async () => {
      user = new Browser(running.server.url);
      await user.signUp();
    });

    async function codeCount(): Promise<number> {
      const [row] = await rawQuery(running.database, "SELECT count(*) AS n FROM codes");
      return Number(row?.n);
    }

    it("Authorize 999 ms after the page was shown: the page again with a notice, and no code", async () => {
      const before = await codeCount();
      const consent = await user.get(authPath({ ...WEB, key_label: "Mine" }));
      running.clock.advance(999);
      const page = await user.post("/auth", consentForm(consent.html, "approve"));
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
      expect(alertOf(page.html)).toMatch(/too soon.+nothing was approved/);
      expect(page.html).toContain('value="Mine"');
      expect(await codeCount()).toBe(before);

      // The page shown again waits its own second: the user reads it, then approves.
      running.clock.advance(999);
      const early = await user.post("/auth", consentForm(page.html, "approve"));
      expect(early.status).toBe(400);
      running.clock.advance(1);
      const approved = await user.post("/auth", consentForm(page.html, "approve"));
      expect(approved.status).toBe(303);
      expect(new URL(approved.location as string).searchParams.get("code")).toBeTruthy();
      expect(await codeCount()).toBe(before + 1);
    });

    it("Authorize a second or more after the page was shown: approved", async () => {
      const consent = await user.get(authPath(WEB));
      running.clock.advance(1000);
      const page = await user.post("/auth", consentForm(consent.html, "approve"));
      expect(page.status).toBe(303);
      expect(page.location).toMatch(/^https:\/\/app\.example\/cb\?code=/);
    });

    it.each([
      ["no shown_at", () => undefined],
      ["an unsigned time", (stamp: string) => `${Number(stamp.split(".")[0]) - 60_000}`],
      [
        "a time moved back under the genuine signature",
        (stamp: string) => {
          const [at, mac] = stamp.split(".");
          return `${Number(at) - 60_000}.${mac}`;
        },
      ],
      [
        "a signature made with another secret",
        (stamp: string) => {
          const at = String(Number(stamp.split(".")[0]) - 60_000);
          return `${at}.${createHash("sha256").update(at).digest("base64url")}`;
        },
      ],
      ["a repeated field", (stamp: string) => [stamp, stamp]],
      ["garbage", () => "1e3.x.y"],
    ] as const)("%s: refused, however long the user waited, and no code", async (_, forge) => {
      const before = await codeCount();
      const consent = await user.get(authPath(WEB));
      running.clock.advance(5000);
      const { shown_at, ...rest } = consentForm(consent.html, "approve");
      const forged = forge(shown_at as string);
      const page = await user.post(
        "/auth",
        forged === undefined ? rest : { ...rest, shown_at: forged },
      );
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
      expect(await codeCount()).toBe(before);
    });

    it("another session's stamp, old enough for it, is refused in this one", async () => {
      const other = new Browser(running.server.url);
      await other.signUp();
      const theirs = shownAtOf((await other.get(authPath(WEB))).html);
      const consent = await user.get(authPath(WEB));
      running.clock.advance(5000);
      const before = await codeCount();
      const page = await user.post("/auth", {
        ...consentForm(consent.html, "approve"),
        shown_at: theirs,
      });
      expect(page.status).toBe(400);
      expect(await codeCount()).toBe(before);
    });

    it("Deny needs no wait", async () => {
      const consent = await user.get(authPath(WEB));
      const page = await user.post("/auth", consentForm(consent.html, "deny"));
      expect(page.status).toBe(303);
      expect(new URL(page.location as string).searchParams.get("error")).toBe("access_denied");
    });

    it("the page: Authorize starts disabled with the delay; its script is allowed by hash alone", async () => {
      const page = await user.get(authPath(WEB));
      const button = /<button[^>]*id="approve"[^>]*>/.exec(page.html)?.[0] ?? "";
      expect(button).toMatch(/\bdisabled\b/);
      expect(button).toMatch(/\bhidden\b/);
      expect(button).toContain('data-delay="1000"');
      const script = /<script>([\s\S]*?)<\/script>/.exec(page.html)?.[1] ?? "";
      expect(script).toContain("visibilitychange");
      const csp = page.headers.get("content-security-policy") ?? "";
      const hash = createHash("sha256").update(script).digest("base64");
      expect(csp).toContain(`script-src 'sha256-${hash}'`);
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("default-src 'none'");
    });
  },
);
