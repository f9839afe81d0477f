import { approve, type Browser } from "./browser.js";
import { exchange, newVerifier, s256 } from "./server.js";

/** An app's key for the signed-in browser's account, through the real PKCE flow. */
export async function appKey(http: Browser, callbackUrl: string, label: string): Promise<string> {
  const verifier = newVerifier();
  const code = await approve(http, {
    callback_url: callbackUrl,
    code_challenge: s256(verifier),
    code_challenge_method: "S256",
    key_label: label,
  });
  const response = await exchange(http.baseUrl, {
    code,
    code_verifier: verifier,
    code_challenge_method: "S256",
  });
  if (response.status !== 200) throw new Error(`exchange answered ${response.status}`);
  return ((await response.json()) as { key: string }).key;
}

/** One chat completion on the built-in `keyport/echo` model; the gateway's answer. */
export function echoChat(baseUrl: string, key: string, text = "hello"): Promise<Response> {
  return fetch(`${baseUrl}/api/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "keyport/echo", messages: [{ role: "user", content: text }] }),
  });
}

/** The status of a chat call, its body read so the connection is free. */
export async function echoStatus(baseUrl: string, key: string): Promise<number> {
  const response = await echoChat(baseUrl, key);
  await response.arrayBuffer();
  return response.status;
}
