import { DashboardFrame, Notice } from "./dashboard-frame.js";
import type { SignedIn } from "./keys-page.js";
import { CsrfField, FormError } from "./layout.js";

/** Which of the account page's forms an error belongs to. */
export type AccountForm = "password" | "delete";

/** `/account`: change the password, sign out everywhere, delete the account. */
export function AccountPage(
  props: SignedIn & { notice?: string; error?: { form: AccountForm; message: string } },
) {
  const errorOf = (form: AccountForm) =>
    props.error?.form === form ? props.error.message : undefined;
  return (
    <DashboardFrame
      title="Account"
      current="account"
      email={props.email}
      csrfToken={props.csrfToken}
    >
      <h1>Account</h1>
      <Notice message={props.notice} />
      <p>
        Signed in as <strong>{props.email}</strong>.
      </p>

      <section class="panel" aria-labelledby="change-password">
        <h2 id="change-password">Change password</h2>
        <FormError message={errorOf("password")} />
        <form method="post" action="/account/password">
          <CsrfField token={props.csrfToken} />
          {/* Lets password managers tie the new password to this account. */}
          <input type="hidden" name="username" autocomplete="username" value={props.email} />
          <label for="current-password">Current password</label>
          <input
            id="current-password"
            name="current_password"
            type="password"
            autocomplete="current-password"
            required
          />
          <label for="new-password">New password</label>
          <input
            id="new-password"
            name="new_password"
            type="password"
            autocomplete="new-password"
            minlength={8}
            required
            aria-describedby="new-password-help"
          />
          <small id="new-password-help">
            At least 8 characters; a few unrelated words make a good one. Your other sessions end.
          </small>
          <button type="submit">Change password</button>
        </form>
      </section>

      <section class="panel" aria-labelledby="sessions">
        <h2 id="sessions">Sign out everywhere</h2>
        <p>Ends every session of this account, on every browser, this one included.</p>
        <form method="post" action="/account/sessions/end">
          <CsrfField token={props.csrfToken} />
          <button type="submit" class="secondary">
            Sign out everywhere
          </button>
        </form>
      </section>

      <section class="panel" aria-labelledby="delete-account">
        <h2 id="delete-account">Delete account</h2>
        <p>
          Every key of yours is revoked at once, apps lose access, and you are signed out. This
          cannot be undone.
        </p>
        <FormError message={errorOf("delete")} />
        <form method="post" action="/account/delete">
          <CsrfField token={props.csrfToken} />
          <label for="delete-password">Your password</label>
          <input
            id="delete-password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
          />
          <label class="checkbox">
            <input type="checkbox" name="confirm" value="yes" required /> I understand that my keys
            stop working and my account is gone
          </label>
          <button type="submit" class="danger">
            Delete account
          </button>
        </form>
      </section>
    </DashboardFrame>
  );
}
