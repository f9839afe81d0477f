import type { Child } from "hono/jsx";
import { CSRF_FIELD } from "../web/csrf.js";

/** The page frame every server-rendered page shares. */
export function Layout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${props.title} · Keyport`}</title>
        <link rel="stylesheet" href="/assets/keyport.css" />
      </head>
      <body>
        <main>
          <p class="brand">Keyport</p>
          {props.children}
        </main>
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
