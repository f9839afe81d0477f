import { beforeAll, describe, expect, it } from "vitest";
import { authPath, Browser } from "./support/browser.js";
import { dialects } from "./support/databases.js";
import { newVerifier, s256, useServer } from "./support/server.js";

/** The text of the consent page's warning (`role="note"`). */
function noteOf(html: string): string {
  return /role="note">([^<]*)</.exec(html)?.[1]?.replace(/\s+/g, " ") ?? "";
}

describe.each(dialects)(
  "DESIGN invariant 4: a callback that is not https is shown whole on the consent page ($name)",
  (dialect) => {
    const running = useServer(dialect);
    let user: Browser;

    beforeAll(async () => {
      user = new Browser(running.server.url);
      await user.signUp();
    });

    const consent = (callback_url: string) =>
      user.get(
        authPath({
          callback_url,
          code_challenge: s256(newVerifier()),
          code_challenge_method: "S256",
        }),
      );

    it.each([
      ["com.example.app:/oauth/cb", "com.example.app:/oauth/cb"],
      ["myapp://evil.example/cb?x=1", "myapp://evil.example/cb?x=1"],
      ["http://127.0.0.1:43123/callback/path", "http://127.0.0.1:43123/callback/path"],
      ["http://localhost:8080/cb", "http://localhost:8080/cb"],
      ["http://[::1]:9000/a/b", "http://[::1]:9000/a/b"],
    ])("%s: scheme, host and path in the warning", async (callback, shown) => {
      const page = await consent(callback);
      expect(page.status).toBe(200);
      expect(noteOf(page.html)).toContain(`(${shown})`);
    });

    it("escapes what it shows", async () => {
      const page = await consent("myapp://cb/it's&<b>");
      expect(page.status).toBe(200);
      expect(noteOf(page.html)).toContain("(myapp://cb/it&#39;s&amp;%3Cb%3E)");
      expect(page.html).not.toContain("<b>");
    });

    it("an https callback keeps its origin as the name, with no warning", async () => {
      const page = await consent("https://app.example/cb");
      expect(page.html).toContain('<span class="app">https://app.example</span>');
      expect(noteOf(page.html)).toBe("");
    });
  },
);
