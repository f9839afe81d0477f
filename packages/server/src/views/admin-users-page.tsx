import { fromMicros } from "../domain/credits.js";
import type { UserSummary } from "../store/store.js";
import { CsrfField, FieldError, FormError, Layout, type Viewer } from "./layout.js";

/** Credits as an operator reads them: up to 6 decimals, no trailing zeros. */
function credits(micros: number): string {
  return fromMicros(micros).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

function dateOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** An account's state in words. */
function StateBadges(props: { summary: UserSummary }) {
  const { user } = props.summary;
  return (
    <>
      {user.isAdmin ? <span class="muted"> · admin</span> : null}
      {user.disabledAt ? <strong class="field-error"> · disabled</strong> : null}
    </>
  );
}

interface UsersListProps {
  viewer: Viewer;
  csrfToken: string;
  users: readonly UserSummary[];
  search: string;
  page: number;
  pages: number;
  total: number;
}

/** `/admin/users`: accounts with their spend, searchable by email, a page at a time. */
export function AdminUsersPage(props: UsersListProps) {
  const query = (page: number) =>
    `/admin/users?${new URLSearchParams({ ...(props.search ? { q: props.search } : {}), page: String(page) })}`;
  return (
    <Layout
      title="Users"
      viewer={props.viewer}
      csrfToken={props.csrfToken}
      current="/admin/users"
      wide
    >
      <h1>Users</h1>
      <form method="get" action="/admin/users" class="inline">
        <div>
          <label for="q">Email contains</label>
          <input id="q" name="q" type="search" maxlength={254} value={props.search} />
        </div>
        <button type="submit">Search</button>
      </form>
      <p class="muted" role="status">
        {props.total === 1 ? "1 account" : `${props.total} accounts`}
        {props.search ? ` matching “${props.search}”` : ""}
      </p>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col" class="num">
                Keys
              </th>
              <th scope="col" class="num">
                Spend, 30 days
              </th>
              <th scope="col" class="num">
                Spend, total
              </th>
              <th scope="col" class="num">
                Credit
              </th>
            </tr>
          </thead>
          <tbody>
            {props.users.map((summary) => (
              <tr>
                <td>
                  <a href={`/admin/users/${summary.user.id}`}>{summary.user.email}</a>
                  <StateBadges summary={summary} />
                </td>
                <td class="num">{summary.liveKeys}</td>
                <td class="num">{credits(summary.usage30dMicros)}</td>
                <td class="num">{credits(summary.usageMicros)}</td>
                <td class="num">
                  {summary.user.creditMicros === null ? "none" : credits(summary.user.creditMicros)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {props.pages > 1 ? (
        <nav class="pager" aria-label="Pages">
          {props.page > 1 ? <a href={query(props.page - 1)}>Previous page</a> : <span />}
          <span>
            Page {props.page} of {props.pages}
          </span>
          {props.page < props.pages ? <a href={query(props.page + 1)}>Next page</a> : <span />}
        </nav>
      ) : null}
    </Layout>
  );
}

interface UserDetailProps {
  viewer: Viewer;
  csrfToken: string;
  summary: UserSummary;
  /** What the last action did, after its redirect. */
  done?: string;
  /** The credit field's value and problem, after a refused change. */
  creditValue?: string;
  creditError?: string;
}

/** `/admin/users/:id`: one account, its spend, and the operator's actions on it. */
export function AdminUserPage(props: UserDetailProps) {
  const { user } = props.summary;
  const base = `/admin/users/${user.id}`;
  const creditText = user.creditMicros === null ? "" : String(fromMicros(user.creditMicros));
  return (
    <Layout title={user.email} viewer={props.viewer} csrfToken={props.csrfToken} current="">
      <p>
        <a href="/admin/users">← All users</a>
      </p>
      <h1>{user.email}</h1>
      {props.done ? (
        <p class="notice" role="status">
          {props.done}
        </p>
      ) : null}
      <FormError message={props.creditError ? "The credit was not changed." : undefined} />
      <dl>
        <dt>State</dt>
        <dd>{user.disabledAt ? `Disabled since ${dateOf(user.disabledAt)}` : "Active"}</dd>
        <dt>Role</dt>
        <dd>{user.isAdmin ? "Admin" : "User"}</dd>
        <dt>Created</dt>
        <dd>{dateOf(user.createdAt)}</dd>
        <dt>Live keys</dt>
        <dd>{props.summary.liveKeys}</dd>
        <dt>Spend, 30 days</dt>
        <dd>{credits(props.summary.usage30dMicros)} credits</dd>
        <dt>Spend, total</dt>
        <dd>{credits(props.summary.usageMicros)} credits</dd>
        <dt>Account credit</dt>
        <dd>
          {user.creditMicros === null
            ? "None (each key's own limit applies)"
            : `${credits(user.creditMicros)} credits for all keys together`}
        </dd>
      </dl>

      <h2>Account credit</h2>
      <form method="post" action={`${base}/credit`}>
        <CsrfField token={props.csrfToken} />
        <label for="credits">Credits all keys may spend together, ever</label>
        <input
          id="credits"
          name="credits"
          type="text"
          inputmode="decimal"
          value={props.creditValue ?? creditText}
          placeholder="none"
          aria-invalid={props.creditError ? "true" : undefined}
          aria-describedby={props.creditError ? "credits-error credits-hint" : "credits-hint"}
        />
        <FieldError id="credits-error" message={props.creditError} />
        <small id="credits-hint">
          Includes what the account already spent. Leave empty for no account cap.
        </small>
        <div>
          <button type="submit">Save credit</button>
        </div>
      </form>

      <h2>{user.disabledAt ? "Enable" : "Disable"}</h2>
      <form method="post" action={`${base}/${user.disabledAt ? "enable" : "disable"}`}>
        <CsrfField token={props.csrfToken} />
        <p class="muted">
          {user.disabledAt
            ? "The account can sign in again and its keys work again."
            : "Ends the account's sessions now; its keys stop working at once and it cannot sign in."}
        </p>
        <button type="submit" class={user.disabledAt ? undefined : "danger"}>
          {user.disabledAt ? "Enable account" : "Disable account"}
        </button>
      </form>

      <h2>Password</h2>
      <p class="muted">
        Reset it from the server's terminal:{" "}
        <code>keyport users set-password --email {user.email} --password-stdin</code>
      </p>
    </Layout>
  );
}
