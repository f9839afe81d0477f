import { CsrfField, FormError, Layout } from "./layout.js";

/**
 * `/forgot`: asks for the email to send a reset link to; on a server without SMTP, says how the
 * operator resets a password from the terminal instead.
 */
export function ForgotPasswordPage(props: {
  csrfToken: string;
  mailConfigured: boolean;
  email?: string;
  sent?: boolean;
}) {
  return (
    <Layout title="Forgot password">
      <h1>Forgot your password?</h1>
      {!props.mailConfigured ? (
        <>
          <p>This server does not send email, so it cannot mail you a reset link.</p>
          <p>Ask its operator to set a new password for you. On the server’s machine they run:</p>
          <p class="code">keyport users set-password you@example.com</p>
          <p class="muted">
            The command asks for the new password; tell it to you in person or over a channel you
            trust.
          </p>
        </>
      ) : props.sent ? (
        <p role="status">
          If <strong>{props.email}</strong> has an account here, a link to reset its password is on
          its way. It works once, within 30 minutes. Check your spam folder if it does not arrive.
        </p>
      ) : (
        <form method="post" action="/forgot">
          <CsrfField token={props.csrfToken} />
          <p>Enter the email of your account: we will send it a link to choose a new password.</p>
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="username" required />
          <button type="submit">Send the link</button>
        </form>
      )}
      <p class="muted">
        <a href="/signin">Back to sign in</a>
      </p>
    </Layout>
  );
}

/** `/reset/:token`: the new password form of a live link, or why the link is dead. */
export function ResetPasswordPage(props: {
  csrfToken: string;
  token: string;
  error?: string;
  /** The link is used, expired or unknown: no form, a way to ask again. */
  dead?: boolean;
}) {
  return (
    <Layout title="Choose a new password">
      <h1>Choose a new password</h1>
      <FormError message={props.error} />
      {props.dead ? (
        <p>
          <a href="/forgot">Ask for a new link</a>
        </p>
      ) : (
        <form method="post" action={`/reset/${props.token}`}>
          <CsrfField token={props.csrfToken} />
          <label for="password">New password</label>
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="new-password"
            minlength={8}
            required
            aria-describedby="password-help"
          />
          <small id="password-help">
            At least 8 characters; a few unrelated words make a good one. Every session of your
            account ends.
          </small>
          <button type="submit">Set the password</button>
        </form>
      )}
    </Layout>
  );
}
