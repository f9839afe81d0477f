import type { Context } from "hono";
import { Hono } from "hono";
import {
  AdminInputError,
  listAccounts,
  parseCredit,
  setAccountCredit,
  setAccountDisabled,
} from "../services/admin-users.js";
import type { User, UserSummary } from "../store/store.js";
import { AdminUserPage, AdminUsersPage } from "../views/admin-users-page.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { assertCsrf, csrfToken } from "../web/csrf.js";
import { KeyportError } from "../web/errors.js";
import { readForm, single } from "../web/form.js";
import { requireAdmin } from "../web/require-admin.js";

const USER_ID = /^user_[0-9a-f]{32}$/;

/** What each action's redirect tells the page, by its `done` query value. */
const DONE: Record<string, string> = {
  disabled: "Disabled: its sessions ended and its keys stopped.",
  enabled: "Enabled: it can sign in and its keys work again.",
  credit: "Account credit saved.",
};

/** The operator's pages: `/admin/users` (list, search) and `/admin/users/:id` (actions). */
export function adminRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.use("/admin", requireAdmin());
  app.use("/admin/*", requireAdmin());

  app.get("/admin", (c) => c.redirect("/admin/users", 303));

  app.get("/admin/users", async (c) => {
    const search = c.req.query("q") ?? "";
    const page = Number.parseInt(c.req.query("page") ?? "1", 10);
    let listed: Awaited<ReturnType<typeof listAccounts>>;
    try {
      listed = await listAccounts(deps, { search, page: Number.isFinite(page) ? page : 1 });
    } catch (error) {
      if (error instanceof AdminInputError) throw new KeyportError(400, error.message);
      throw error;
    }
    return c.html(
      <AdminUsersPage
        viewer={viewer(c)}
        csrfToken={csrfToken(c, deps)}
        users={listed.users}
        search={search}
        page={listed.page}
        pages={listed.pages}
        total={listed.total}
      />,
    );
  });

  app.get("/admin/users/:id", async (c) => {
    const summary = await summaryOf(c.req.param("id"));
    const done = DONE[c.req.query("done") ?? ""];
    return c.html(
      <AdminUserPage
        viewer={viewer(c)}
        csrfToken={csrfToken(c, deps)}
        summary={summary}
        done={done}
      />,
    );
  });

  for (const [action, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    app.post(`/admin/users/:id/${action}`, async (c) => {
      assertCsrf(c, deps, await readForm(c));
      const user = await userOf(c.req.param("id"));
      await setAccountDisabled(deps, user.id, disabled);
      return c.redirect(`/admin/users/${user.id}?done=${disabled ? "disabled" : "enabled"}`, 303);
    });
  }

  app.post("/admin/users/:id/credit", async (c) => {
    const form = await readForm(c);
    assertCsrf(c, deps, form);
    const user = await userOf(c.req.param("id"));
    const text = single(form, "credits") ?? "";
    let credit: number | null;
    try {
      credit = parseCredit(text);
    } catch (error) {
      if (!(error instanceof AdminInputError)) throw error;
      return c.html(
        <AdminUserPage
          viewer={viewer(c)}
          csrfToken={csrfToken(c, deps)}
          summary={await summaryOf(user.id)}
          creditValue={text.slice(0, 40)}
          creditError={error.message}
        />,
        400,
      );
    }
    await setAccountCredit(deps, user.id, credit);
    return c.redirect(`/admin/users/${user.id}?done=credit`, 303);
  });

  async function userOf(id: string): Promise<User> {
    const user = USER_ID.test(id) ? await deps.store.findUserById(id) : undefined;
    if (!user) throw new KeyportError(404, "There is no such account.");
    return user;
  }

  async function summaryOf(id: string): Promise<UserSummary> {
    const user = await userOf(id);
    const { users } = await listAccounts(deps, { search: user.email, pageSize: 1000 });
    const summary = users.find((entry) => entry.user.id === user.id);
    if (!summary) throw new KeyportError(404, "There is no such account.");
    return summary;
  }

  return app;
}

function viewer(c: Context<AppEnv>) {
  const user = c.get("session").user;
  return { email: user?.email ?? "", isAdmin: user?.isAdmin ?? false };
}
