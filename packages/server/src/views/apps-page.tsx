import type { ConnectedApp } from "../services/key-overview.js";
import { DashboardFrame, Notice } from "./dashboard-frame.js";
import { when } from "./format.js";
import type { SignedIn } from "./keys-page.js";
import { CsrfField } from "./layout.js";

/** `/apps`: the apps that got keys through the PKCE flow, each with a way to disconnect it. */
export function AppsPage(props: SignedIn & { apps: readonly ConnectedApp[]; notice?: string }) {
  return (
    <DashboardFrame
      title="Connected apps"
      current="apps"
      email={props.email}
      csrfToken={props.csrfToken}
    >
      <h1>Connected apps</h1>
      <Notice message={props.notice} />
      <p class="muted">
        Apps that asked for a key through Keyport’s sign-in page. Disconnecting an app revokes all
        of its keys at once.
      </p>
      {props.apps.length === 0 ? (
        <p>No app holds a key of yours.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">App (callback origin)</th>
                <th scope="col">Key labels</th>
                <th scope="col" class="num">
                  Keys
                </th>
                <th scope="col">Last used</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {props.apps.map((app) => (
                <tr data-app={app.origin}>
                  <th scope="row" class="label-cell">
                    {app.origin}
                  </th>
                  <td class="label-cell">{app.labels.join(", ")}</td>
                  <td class="num">{app.keys}</td>
                  <td>{when(app.lastUsedAt)}</td>
                  <td>
                    <a
                      class="button"
                      href={`/apps/disconnect?app=${encodeURIComponent(app.origin)}`}
                      aria-label={`Disconnect ${app.origin}`}
                    >
                      Disconnect…
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </DashboardFrame>
  );
}

/** The confirmation step before an app's keys are all revoked. */
export function DisconnectAppPage(props: SignedIn & { app: ConnectedApp }) {
  return (
    <DashboardFrame
      title="Disconnect app"
      current="apps"
      email={props.email}
      csrfToken={props.csrfToken}
    >
      <h1>Disconnect this app?</h1>
      <p class="app">{props.app.origin}</p>
      <p class="warning">
        Its {props.app.keys === 1 ? "key" : `${props.app.keys} keys`} ({props.app.labels.join(", ")}
        ) will be revoked and stop working at once. The app can ask again; you would see the consent
        page.
      </p>
      <form method="post" action="/apps/disconnect">
        <CsrfField token={props.csrfToken} />
        <input type="hidden" name="app" value={props.app.origin} />
        <div class="actions">
          <button type="submit" class="danger">
            Disconnect
          </button>
          <a class="button" href="/apps">
            Cancel
          </a>
        </div>
      </form>
    </DashboardFrame>
  );
}
