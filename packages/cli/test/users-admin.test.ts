import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../server/src/index.js";
import { Browser } from "../../server/test/support/browser.js";
import { dialects, type TestDatabase } from "../../server/test/support/databases.js";
import { keyInfo, startTestServer, testClock } from "../../server/test/support/server.js";
import { echoCall, keyForSignedIn } from "../../server/test/support/user-key.js";
import { runInProcess, spawnCli } from "./support/run-cli.js";

const PASSWORD = "correct horse battery staple";

// argon2 sign-ups and real processes on two shared cores: generous, not timed, limits.
describe.each(dialects)(
  "keyport users: the admin pages' CLI twins ($name)",
  { timeout: 120_000 },
  (dialect) => {
    let database: TestDatabase;
    let server: RunningServer;
    const env = () => ({ KEYPORT_DATABASE: database.url });
    /** The real executable, as an operator runs it beside the server. */
    const real = (args: string[], stdin?: string) =>
      spawnCli(["users", ...args], { env: env(), stdin }).exited;
    const inProcess = (args: string[], stdin?: string) =>
      runInProcess(["users", ...args], { env: env(), stdin });

    beforeAll(async () => {
      database = await dialect.fresh();
      // On the real clock: the CLI counts 30 days back from now.
      server = await startTestServer(database, {}, testClock(Date.now()));
    });
    afterAll(async () => {
      await server?.close();
      await database?.drop();
    });

    it("users create --admin makes an operator who sees /admin/users; a plain account does not", async () => {
      const made = await real(
        ["create", "--email", "Boss@Example.test", "--password-stdin", "--admin"],
        `${PASSWORD}\n`,
      );
      expect(made.code, made.stderr).toBe(0);
      expect(made.stdout).toMatch(/^user_[0-9a-f]{32}\n$/);
      const boss = new Browser(server.url);
      expect((await boss.signIn("boss@example.test", PASSWORD)).status).toBe(303);
      expect((await boss.get("/admin/users")).status).toBe(200);

      const someone = new Browser(server.url);
      await someone.signUp();
      expect((await someone.get("/admin/users")).status).toBe(404);
    });

    it("users list: every account with state, keys and spend; --search narrows; bad --page exits 2", async () => {
      const browser = new Browser(server.url);
      const { email } = await browser.signUp(`lister-${dialect.name}@search.test`);
      const key = await keyForSignedIn(browser);
      expect((await echoCall(server.url, key)).status).toBe(200);

      const all = await real(["list"]);
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout).toMatch(/^boss@example\.test {2}admin,active {2}keys=0 /m);
      const line = all.stdout.split("\n").find((row) => row.startsWith(email));
      expect(line).toMatch(
        / {2}user,active {2}keys=1 {2}spend_30d=0\.\d+ {2}spend_total=0\.\d+ {2}credit=none$/,
      );
      expect(line).not.toMatch(/spend_total=0 /);

      const narrowed = await inProcess(["list", "--search", "SEARCH.TEST"]);
      expect(narrowed.stdout.trim().split("\n")).toEqual([expect.stringMatching(`^${email}`)]);
      expect(narrowed.stderr).toMatch(/page 1 of 1, 1 accounts/);
      // `%` and `_` are literal, not wildcards.
      expect((await inProcess(["list", "--search", "%"])).stdout).toBe("");
      expect((await inProcess(["list", "--page", "0"])).code).toBe(2);
    });

    it("users disable: sessions end, sign-in refused, keys stop on the gateway and key API; enable undoes it", async () => {
      const browser = new Browser(server.url);
      const { email } = await browser.signUp();
      const key = await keyForSignedIn(browser);
      expect((await echoCall(server.url, key)).status).toBe(200);

      const disabled = await real(["disable", "--email", email]);
      expect(disabled.code, disabled.stderr).toBe(0);
      expect(disabled.stdout).toMatch(/disabled/);

      const call = await echoCall(server.url, key);
      expect(call.status).toBe(403);
      expect(call.error?.message).toMatch(/account is disabled/);
      expect((await keyInfo(server.url, key)).status).toBe(403);
      expect((await browser.get("/")).html).not.toContain(email);
      const again = await new Browser(server.url).signIn(email, PASSWORD);
      expect(again.status).toBe(403);
      expect(again.html).toMatch(/This account is disabled/);

      expect((await real(["enable", "--email", email])).code).toBe(0);
      expect((await echoCall(server.url, key)).status).toBe(200);
      expect((await new Browser(server.url).signIn(email, PASSWORD)).status).toBe(303);
    });

    it("users set-credit caps all keys together (402 from the gateway); none lifts the cap", async () => {
      const browser = new Browser(server.url);
      const { email } = await browser.signUp();
      const first = await keyForSignedIn(browser);
      const second = await keyForSignedIn(browser);
      expect((await echoCall(server.url, first)).status).toBe(200);

      const capped = await real(["set-credit", "--email", email, "--credits", "0.000001"]);
      expect(capped.code, capped.stderr).toBe(0);
      for (const key of [first, second]) {
        const refused = await echoCall(server.url, key);
        expect(refused.status).toBe(402);
        expect(refused.error?.metadata).toMatchObject({ limit_source: "account", limit: 0.000001 });
      }
      const credits = await fetch(`${server.url}/api/v1/credits`, {
        headers: { authorization: `Bearer ${second}` },
      });
      expect(
        ((await credits.json()) as { data: { total_credits: number } }).data.total_credits,
      ).toBe(0.000001);

      expect((await inProcess(["set-credit", "--email", email, "--credits", "none"])).code).toBe(0);
      expect((await echoCall(server.url, second)).status).toBe(200);
    });

    it("users set-password: the new password signs in, the old one not, and sessions end", async () => {
      const browser = new Browser(server.url);
      const { email } = await browser.signUp();
      const reset = await real(
        ["set-password", "--email", email, "--password-stdin"],
        "a brand new passphrase\n",
      );
      expect(reset.code, reset.stderr).toBe(0);
      expect((await browser.get("/")).html).not.toContain(email);
      expect((await new Browser(server.url).signIn(email, PASSWORD)).status).toBe(401);
      expect((await new Browser(server.url).signIn(email, "a brand new passphrase")).status).toBe(
        303,
      );
    });

    it.each([
      ["a negative credit", ["set-credit", "--email", "boss@example.test", "--credits", "-1"], 2],
      [
        "a credit that is not a number",
        ["set-credit", "--email", "boss@example.test", "--credits", "lots"],
        2,
      ],
      [
        "a credit above the largest limit",
        ["set-credit", "--email", "boss@example.test", "--credits", "1e12"],
        2,
      ],
      ["set-credit without --credits", ["set-credit", "--email", "boss@example.test"], 2],
      ["disable without --email", ["disable"], 2],
      ["an unknown account", ["disable", "--email", "nobody@example.test"], 1],
    ])("%s: exits with the expected code, nothing changed", async (_, args, code) => {
      const result = await inProcess(args as string[]);
      expect(result.code).toBe(code);
      expect(result.stdout).toBe("");
      const boss = new Browser(server.url);
      expect((await boss.signIn("boss@example.test", PASSWORD)).status).toBe(303);
      expect((await boss.get("/admin/users")).html).toMatch(/boss@example\.test/);
    });

    it("a weak password for set-password: exit 2, the old one still works", async () => {
      const result = await inProcess(
        ["set-password", "--email", "boss@example.test", "--password-stdin"],
        "short\n",
      );
      expect(result.code).toBe(2);
      expect((await new Browser(server.url).signIn("boss@example.test", PASSWORD)).status).toBe(
        303,
      );
    });
  },
);
