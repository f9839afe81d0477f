import { CsrfField, FormError, Layout } from "./layout.js";

interface AccountFormProps {
  csrfToken: string;
  /** Where to go after success: a path on this server. */
  next: string;
  email?: string;
  error?: string;
  signupOpen: boolean;
  /** Just came from sign-up: say what to do next (the same words for a new or a taken email). */
  signedUp?: boolean;
}

/** Email and password fields, shared by the sign-in and sign-up forms. */
function CredentialsForm(
  props: AccountFormProps & { action: "signin" | "signup"; submit: string },
) {
  const signUp = props.action === "signup";
  return (
    <form method="post" action={`/${props.action}${nextQuery(props.next)}`}>
      <CsrfField token={props.csrfToken} />
      <label for="email">Email</label>
      <input
        id="email"
        name="email"
        type="email"
        autocomplete="username"
        required
        value={props.email ?? ""}
      />
      <label for="password">Password</label>
      <input
        id="password"
        name="password"
        type="password"
        autocomplete={signUp ? "new-password" : "current-password"}
        minlength={signUp ? 8 : undefined}
        required
      />
      {signUp ? <small>At least 8 characters; a few unrelated words make a good one.</small> : null}
      <button type="submit">{props.submit}</button>
    </form>
  );
}

function nextQuery(next: string): string {
  return `?next=${encodeURIComponent(next)}`;
}

/** The sign-in form, with a link to sign up when sign-up is open. */
export function SignInPage(props: AccountFormProps) {
  return (
    <Layout title="Sign in">
      <h1>Sign in</h1>
      {props.signedUp && !props.error ? (
        <p role="status">
          Sign in with that email and password to continue. If the email already had an account, its
          password is unchanged.
        </p>
      ) : null}
      <FormError message={props.error} />
      <CredentialsForm {...props} action="signin" submit="Sign in" />
      <p class="muted">
        <a href="/forgot">Forgot your password?</a>
      </p>
      {props.signupOpen ? (
        <p class="muted">
          No account yet? <a href={`/signup${nextQuery(props.next)}`}>Sign up</a>
        </p>
      ) : null}
    </Layout>
  );
}

/** The sign-up form. */
export function SignUpPage(props: AccountFormProps) {
  return (
    <Layout title="Sign up">
      <h1>Create your account</h1>
      <FormError message={props.error} />
      <CredentialsForm {...props} action="signup" submit="Sign up" />
      <p class="muted">
        Already have an account? <a href={`/signin${nextQuery(props.next)}`}>Sign in</a>
      </p>
    </Layout>
  );
}

/** The landing page: who is signed in, and a way out. */
export function HomePage(props: { email?: string; isAdmin?: boolean; csrfToken: string }) {
  const viewer = props.email ? { email: props.email, isAdmin: props.isAdmin === true } : undefined;
  return (
    <Layout title="Keyport" viewer={viewer} current="/">
      <h1>Keyport</h1>
      {props.email ? (
        <>
          <p>
            Signed in as <strong>{props.email}</strong>.
          </p>
          <nav aria-label="Dashboard">
            <ul>
              <li>
                <a href="/keys">Your API keys</a>
              </li>
              <li>
                <a href="/usage">Usage</a>
              </li>
              <li>
                <a href="/apps">Connected apps</a>
              </li>
              <li>
                <a href="/account">Account</a>
              </li>
            </ul>
          </nav>
          <form method="post" action="/signout">
            <CsrfField token={props.csrfToken} />
            <button type="submit" class="secondary">
              Sign out
            </button>
          </form>
        </>
      ) : (
        <p>
          <a href="/signin">Sign in</a> to manage your keys.
        </p>
      )}
    </Layout>
  );
}
