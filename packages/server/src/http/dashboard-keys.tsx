import type { Context } from "hono";
import { Hono } from "hono";
import { issueKey } from "../services/issue-key.js";
import { keyOverview } from "../services/key-overview.js";
import type { StoredKey, User } from "../store/store.js";
import { EditKeyPage, KeyCreatedPage, KeysPage, RevokeKeyPage } from "../views/keys-page.js";
import type { AppDeps, AppEnv } from "../web/context.js";
import { assertCsrf, csrfToken } from "../web/csrf.js";
import { KeyportError } from "../web/errors.js";
import { FlashCookie } from "../web/flash-cookie.js";
import { readForm } from "../web/form.js";
import { withUser } from "../web/require-user.js";
import { keyFormValues, readKeyForm } from "./key-form.js";

const HASH = /^[0-9a-f]{64}$/;

/** What `/keys?done=…` says after a form. */
const NOTICES: Record<string, string> = {
  saved: "Key saved.",
  disabled: "Key disabled: it is refused until you enable it again.",
  enabled: "Key enabled.",
  revoked: "Key revoked: it no longer works anywhere.",
};

/** A new key, carried from the create form's `303` to the page that shows it once. */
const createdKey = new FlashCookie(
  "keyport_new_key",
  "/keys/created",
  600,
  (value): value is { key: string; label: string } =>
    typeof (value as { key?: unknown })?.key === "string" &&
    typeof (value as { label?: unknown })?.label === "string",
);

/**
 * The signed-in user's keys: `/keys` lists them with their usage and origin; create (the key is
 * shown once), edit label and limit, disable or enable, and revoke after a confirmation page.
 * Another user's key, a management key and a missing key all answer `404`.
 */
export function dashboardKeysRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const signedIn = (c: Context<AppEnv>, user: User) => ({
    email: user.email,
    csrfToken: csrfToken(c, deps),
  });

  app.get(
    "/keys",
    withUser(async (c, user) => {
      c.header("Cache-Control", "no-store");
      const keys = await keyOverview(deps, user.id);
      const notice = NOTICES[c.req.query("done") ?? ""];
      return c.html(
        <KeysPage {...signedIn(c, user)} keys={keys} now={deps.clock()} notice={notice} />,
      );
    }),
  );

  app.post(
    "/keys",
    withUser(async (c, user) => {
      const form = await readForm(c);
      assertCsrf(c, deps, form);
      const terms = readKeyForm(form);
      if (!terms.ok) {
        const keys = await keyOverview(deps, user.id);
        return c.html(
          <KeysPage
            {...signedIn(c, user)}
            keys={keys}
            now={deps.clock()}
            error={terms.problem}
            values={terms.values}
          />,
          400,
        );
      }
      const { key, stored } = await issueKey(deps.store, deps.clock(), {
        userId: user.id,
        label: terms.label,
        limitMicros: terms.limitMicros,
        limitReset: terms.limitReset,
        expiresAt: null,
        isManagement: false,
        origin: { via: "dashboard" },
      });
      return createdKey.redirect(c, deps, { key, label: stored.label });
    }),
  );

  app.get(
    "/keys/created",
    withUser((c, user) => {
      c.header("Cache-Control", "no-store");
      const shown = createdKey.take(c, deps);
      if (!shown) return c.redirect("/keys", 303);
      return c.html(
        <KeyCreatedPage {...signedIn(c, user)} secret={shown.key} label={shown.label} />,
      );
    }),
  );

  app.get(
    "/keys/:hash/edit",
    withUser(async (c, user) => {
      const key = await ownKey(c, user);
      return c.html(
        <EditKeyPage {...signedIn(c, user)} hash={key.hash} values={keyFormValues(key)} />,
      );
    }),
  );

  app.post(
    "/keys/:hash/edit",
    withUser(async (c, user) => {
      const hash = hashParam(c);
      const form = await readForm(c);
      assertCsrf(c, deps, form);
      const terms = readKeyForm(form);
      if (!terms.ok) {
        return c.html(
          <EditKeyPage
            {...signedIn(c, user)}
            hash={hash}
            values={terms.values}
            error={terms.problem}
          />,
          400,
        );
      }
      const { label, limitMicros, limitReset } = terms;
      const changed = await deps.store.updateKey(user.id, hash, { label, limitMicros, limitReset });
      if (!changed) throw notFound();
      return c.redirect("/keys?done=saved", 303);
    }),
  );

  for (const [action, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    app.post(
      `/keys/:hash/${action}`,
      withUser(async (c, user) => {
        const hash = hashParam(c);
        assertCsrf(c, deps, await readForm(c));
        if (!(await deps.store.updateKey(user.id, hash, { disabled }))) throw notFound();
        return c.redirect(`/keys?done=${action}d`, 303);
      }),
    );
  }

  app.get(
    "/keys/:hash/revoke",
    withUser(async (c, user) => {
      const key = await ownKey(c, user);
      return c.html(<RevokeKeyPage {...signedIn(c, user)} target={key} />);
    }),
  );

  app.post(
    "/keys/:hash/revoke",
    withUser(async (c, user) => {
      const hash = hashParam(c);
      assertCsrf(c, deps, await readForm(c));
      if (!(await deps.store.revokeKey(hash, deps.clock(), user.id))) throw notFound();
      return c.redirect("/keys?done=revoked", 303);
    }),
  );

  /** The user's own live ordinary key named by the path. */
  async function ownKey(c: Context<AppEnv>, user: User): Promise<StoredKey> {
    const key = await deps.store.findKey(hashParam(c));
    if (!key || key.userId !== user.id || key.isManagement || key.revokedAt) throw notFound();
    return key;
  }

  return app;
}

function hashParam(c: Context): string {
  const hash = c.req.param("hash") ?? "";
  if (!HASH.test(hash)) throw notFound();
  return hash;
}

function notFound(): KeyportError {
  return new KeyportError(404, "There is no such key among yours. It may have been revoked.");
}
