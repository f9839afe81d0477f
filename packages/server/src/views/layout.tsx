import type { Child } from "hono/jsx";
import { CSRF_FIELD } from "../web/csrf.js";

/** Who is signed in, as the page frame shows them. */
export interface Viewer {
  readonly email: string;
  readonly isAdmin: boolean;
}

/** The signed-in pages the frame links to; `admin` ones only for admins. */
const NAV_LINKS: readonly { href: string; text: string; admin?: boolean }[] = [
  { href: "/keys", text: "Keys" },
  { href: "/usage", text: "Usage" },
  { href: "/apps", text: "Apps" },
  { href: "/account", text: "Account" },
  { href: "/admin/users", text: "Users", admin: true },
];

interface LayoutProps {
  title: string;
  children: Child;
  /** The signed-in user: the frame then shows the navigation and a sign-out button. */
  viewer?: Viewer;
  /** The session's CSRF token, for the frame's sign-out form (shown only with it). */
  csrfToken?: string;
  /** The path of this page, marked `aria-current` in the navigation. */
  current?: string;
  /** Tables and dashboards: a wider content column. */
  wide?: boolean;
}

/**
 * The page frame every server-rendered page shares: the brand (a link home), the signed-in
 * navigation, and the page in `<main>`. Works from 320 px wide up, in light and dark schemes.
 */
export function Layout(props: LayoutProps) {
  const viewer = props.viewer;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="color-scheme" content="light dark" />
        <title>{`${props.title} · Keyport`}</title>
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/assets/keyport.css" />
      </head>
      <body>
        <header class="site">
          <a class="brand" href="/">
            <img src="/assets/favicon.svg" alt="" width="24" height="24" />
            Keyport
          </a>
          {viewer ? (
            <nav aria-label="Main">
              {NAV_LINKS.filter((link) => !link.admin || viewer.isAdmin).map((link) => (
                <a href={link.href} aria-current={link.href === props.current ? "page" : undefined}>
                  {link.text}
                </a>
              ))}
            </nav>
          ) : null}
          {viewer && props.csrfToken ? (
            <form method="post" action="/signout">
              <CsrfField token={props.csrfToken} />
              <button type="submit" class="secondary" title={`Signed in as ${viewer.email}`}>
                Sign out
              </button>
            </form>
          ) : null}
        </header>
        <main class={props.wide ? "wide" : undefined}>{props.children}</main>
      </body>
    </html>
  );
}

/** The CSRF token as the hidden field every POST form carries. */
export function CsrfField(props: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={props.token} />;
}

/** A message the form shows above its fields after a failed attempt. */
export function FormError(props: { message?: string }) {
  return props.message ? (
    <p class="error" role="alert">
      {props.message}
    </p>
  ) : null;
}

/** A field's own error, under it; the field points at it with `aria-describedby`. */
export function FieldError(props: { id: string; message?: string }) {
  return props.message ? (
    <p class="field-error" id={props.id}>
      {props.message}
    </p>
  ) : null;
}
