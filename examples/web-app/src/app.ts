// The demo app's browser code: only the public API of @keyport/client/browser.
import {
  completeSignIn,
  disconnect,
  getKeyInfo,
  KeyportError,
  RevocationUnsupportedError,
  signInWithPopup,
  startSignIn,
} from "@keyport/client/browser";

import { streamChat } from "./chat.js";

const STORAGE_KEY = "demo-app:key";
const baseUrl = document.querySelector<HTMLMetaElement>('meta[name="keyport-url"]')?.content ?? "";
const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const keyLabel = "Demo chat app";

function showStatus(message: string, isError = false) {
  const status = byId<HTMLParagraphElement>("status");
  status.textContent = message;
  status.className = isError ? "error" : "";
}

async function showKey(key: string) {
  const info = await getKeyInfo({ baseUrl, key });
  byId("key-preview").textContent = `${key.slice(0, 13)}…${key.slice(-4)}`;
  byId("key-label").textContent = info.label;
  byId("key-usage").textContent = String(info.usage);
  byId("key-limit").textContent = info.limit === null ? "none" : String(info.limit);
  byId("signed-out").hidden = true;
  byId("signed-in").hidden = false;
}

async function connected(key: string) {
  localStorage.setItem(STORAGE_KEY, key);
  showStatus("Connected.");
  await showKey(key);
}

function explain(error: unknown): string {
  if (error instanceof KeyportError) return `${error.name}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

byId("connect").addEventListener("click", () => {
  startSignIn({ baseUrl, keyLabel }).catch((error) => showStatus(explain(error), true));
});

byId("connect-popup").addEventListener("click", () => {
  signInWithPopup({
    baseUrl,
    keyLabel,
    callbackUrl: new URL("/popup-callback.html", location.href).href,
  })
    .then((result) => connected(result.key))
    .catch((error) => showStatus(explain(error), true));
});

byId("chat").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = localStorage.getItem(STORAGE_KEY);
  if (!key) return;
  const reply = byId("reply");
  reply.textContent = "";
  const message = byId<HTMLInputElement>("message").value;
  streamChat({ baseUrl, key, message, onText: (text) => reply.append(text) })
    .then(() => showKey(key))
    .catch((error) => showStatus(explain(error), true));
});

function forgetKey(message: string) {
  localStorage.removeItem(STORAGE_KEY);
  byId("signed-out").hidden = false;
  byId("signed-in").hidden = true;
  showStatus(message);
}

// Disconnect revokes the key on the server first, so it stops working, then forgets it. A
// server without DELETE /api/v1/key (OpenRouter) leaves it working: the user is told so.
byId("disconnect").addEventListener("click", () => {
  const key = localStorage.getItem(STORAGE_KEY);
  if (!key) return forgetKey("Disconnected.");
  disconnect({ baseUrl, key })
    .then(() => forgetKey("Disconnected: the key is revoked."))
    .catch((error) => {
      if (error instanceof RevocationUnsupportedError) {
        forgetKey("Forgotten here, but the key still works: revoke it in your key settings.");
      } else {
        showStatus(`Could not disconnect (${explain(error)}). Try again.`, true);
      }
    });
});

try {
  const result = await completeSignIn();
  const key = result?.key ?? localStorage.getItem(STORAGE_KEY);
  if (result) await connected(result.key);
  else if (key) await showKey(key);
} catch (error) {
  showStatus(explain(error), true);
}
