import type { KeyOverview } from "../services/key-overview.js";
import type { StoredKey } from "../store/store.js";
import { DashboardFrame, Notice } from "./dashboard-frame.js";
import { credits, originText, when } from "./format.js";
import { KeyFields, type KeyFormValues } from "./key-form.js";
import { CsrfField, FormError } from "./layout.js";

/** What every signed-in page knows: who is signed in and the session's CSRF token. */
export interface SignedIn {
  readonly email: string;
  readonly csrfToken: string;
}

/** A key's limit and its reset, in words. */
function limitText(key: Pick<StoredKey, "limitMicros" | "limitReset">): string {
  if (key.limitMicros === null) return "No limit";
  const reset = key.limitReset ? `, resets ${key.limitReset}` : ", never resets";
  return `${credits(key.limitMicros)} credits${reset}`;
}

/** `/keys`: every live key with its limit, usage, dates and origin, and a form for a new one. */
export function KeysPage(
  props: SignedIn & {
    keys: readonly KeyOverview[];
    now: Date;
    notice?: string;
    error?: string;
    values?: KeyFormValues;
  },
) {
  return (
    <DashboardFrame title="Keys" current="keys" email={props.email} csrfToken={props.csrfToken}>
      <h1>API keys</h1>
      <Notice message={props.notice} />
      <section class="panel" aria-labelledby="new-key">
        <h2 id="new-key">Create a key</h2>
        <FormError message={props.error} />
        <form method="post" action="/keys">
          <CsrfField token={props.csrfToken} />
          <KeyFields
            values={props.values ?? { label: "", limit: "", limitReset: "" }}
            idPrefix="new"
          />
          <button type="submit">Create key</button>
        </form>
      </section>
      {props.keys.length === 0 ? (
        <p>No keys yet. Create one above, or connect an app: it asks for a key on your behalf.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="muted">
              Usage in credits. “30 days” is the last 30 days; “Today” is the current UTC day.
            </caption>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Limit</th>
                <th scope="col" class="num">
                  Today
                </th>
                <th scope="col" class="num">
                  30 days
                </th>
                <th scope="col" class="num">
                  Total
                </th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Made by</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {props.keys.map((row) => (
                <KeyRow row={row} now={props.now} csrfToken={props.csrfToken} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </DashboardFrame>
  );
}

function KeyRow(props: { row: KeyOverview; now: Date; csrfToken: string }) {
  const { key } = props.row;
  const expired = key.expiresAt !== null && key.expiresAt <= props.now;
  return (
    <tr data-key={key.hash}>
      <th scope="row" class="label-cell">
        {key.label} {key.disabled ? <span class="badge">disabled</span> : null}
        {expired ? <span class="badge">expired</span> : null}
        {key.isManagement ? <span class="badge">management</span> : null}
      </th>
      <td>{limitText(key)}</td>
      <td class="num">{credits(props.row.todayMicros)}</td>
      <td class="num">{credits(props.row.recentMicros)}</td>
      <td class="num">{credits(key.usageMicros)}</td>
      <td>{when(key.createdAt)}</td>
      <td>{when(props.row.lastUsedAt)}</td>
      <td>{originText(key.origin)}</td>
      <td>
        {key.isManagement ? (
          <span class="muted">Managed with the keyport CLI</span>
        ) : (
          <div class="row-actions">
            <a class="button" href={`/keys/${key.hash}/edit`} aria-label={`Edit ${key.label}`}>
              Edit
            </a>
            <form method="post" action={`/keys/${key.hash}/${key.disabled ? "enable" : "disable"}`}>
              <CsrfField token={props.csrfToken} />
              <button
                type="submit"
                class="secondary"
                aria-label={`${key.disabled ? "Enable" : "Disable"} ${key.label}`}
              >
                {key.disabled ? "Enable" : "Disable"}
              </button>
            </form>
            <a class="button" href={`/keys/${key.hash}/revoke`} aria-label={`Revoke ${key.label}`}>
              Revoke…
            </a>
          </div>
        )}
      </td>
    </tr>
  );
}

/** The one time a new key is shown in full. */
export function KeyCreatedPage(props: SignedIn & { secret: string; label: string }) {
  return (
    <DashboardFrame
      title="Key created"
      current="keys"
      email={props.email}
      csrfToken={props.csrfToken}
    >
      <h1>Key created</h1>
      <p>
        Your new key <strong>{props.label}</strong>:
      </p>
      <p class="key-once" data-testid="new-key">
        {props.secret}
      </p>
      <p class="warning">
        Copy it now. Keyport keeps only a hash of it, so this page cannot show it again.
      </p>
      <p>
        <a href="/keys">Back to your keys</a>
      </p>
    </DashboardFrame>
  );
}

/** Edit a key's label and limit. */
export function EditKeyPage(
  props: SignedIn & { hash: string; values: KeyFormValues; error?: string },
) {
  return (
    <DashboardFrame title="Edit key" current="keys" email={props.email} csrfToken={props.csrfToken}>
      <h1>Edit key</h1>
      <FormError message={props.error} />
      <form method="post" action={`/keys/${props.hash}/edit`}>
        <CsrfField token={props.csrfToken} />
        <KeyFields values={props.values} idPrefix="edit" />
        <div class="actions">
          <button type="submit">Save</button>
          <a class="button" href="/keys">
            Cancel
          </a>
        </div>
      </form>
    </DashboardFrame>
  );
}

/** The confirmation step before a key is revoked (no script needed). */
export function RevokeKeyPage(props: SignedIn & { target: StoredKey }) {
  return (
    <DashboardFrame
      title="Revoke key"
      current="keys"
      email={props.email}
      csrfToken={props.csrfToken}
    >
      <h1>Revoke this key?</h1>
      <p>
        <strong class="label-cell">{props.target.label}</strong> ({originText(props.target.origin)})
      </p>
      <p class="warning">
        Anything using this key stops working at once. Revoking cannot be undone; to pause a key,
        disable it instead.
      </p>
      <form method="post" action={`/keys/${props.target.hash}/revoke`}>
        <CsrfField token={props.csrfToken} />
        <div class="actions">
          <button type="submit" class="danger">
            Revoke key
          </button>
          <a class="button" href="/keys">
            Cancel
          </a>
        </div>
      </form>
    </DashboardFrame>
  );
}
