import type { Child } from "hono/jsx";
import { CsrfField, Layout } from "./layout.js";

/** The dashboard's pages, as the navigation names them. */
export type DashboardSection = "keys" | "usage" | "apps" | "account";

const SECTIONS: readonly [DashboardSection, string, string][] = [
  ["keys", "/keys", "Keys"],
  ["usage", "/usage", "Usage"],
  ["apps", "/apps", "Connected apps"],
  ["account", "/account", "Account"],
];

/** The navigation every signed-in page shows, with the current page marked. */
function DashboardNav(props: { current?: DashboardSection; email: string; csrfToken: string }) {
  return (
    <nav class="dashboard-nav" aria-label="Dashboard">
      <ul>
        {SECTIONS.map(([section, href, name]) => (
          <li>
            <a href={href} aria-current={section === props.current ? "page" : undefined}>
              {name}
            </a>
          </li>
        ))}
      </ul>
      <form method="post" action="/signout" class="dashboard-signout">
        <CsrfField token={props.csrfToken} />
        <span class="muted">{props.email}</span>
        <button type="submit" class="secondary">
          Sign out
        </button>
      </form>
    </nav>
  );
}

/** A signed-in page: the shared layout, the dashboard's stylesheet, the navigation. */
export function DashboardFrame(props: {
  title: string;
  current?: DashboardSection;
  email: string;
  csrfToken: string;
  children: Child;
  /** Extra stylesheets or scripts the page needs (served from this server). */
  head?: Child;
}) {
  return (
    <Layout title={props.title}>
      {/* A body `<link rel=stylesheet>` is valid HTML and keeps the shared layout untouched. */}
      <link rel="stylesheet" href="/assets/dashboard.css" />
      {props.head}
      <div class="dashboard">
        <DashboardNav current={props.current} email={props.email} csrfToken={props.csrfToken} />
        {props.children}
      </div>
    </Layout>
  );
}

/** A short confirmation after a form (`?done=…`), read by screen readers as a status. */
export function Notice(props: { message?: string }) {
  return props.message ? (
    <p class="notice" role="status">
      {props.message}
    </p>
  ) : null;
}
