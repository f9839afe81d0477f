import { approve, type Browser } from "./browser.js";
import { exchange, newVerifier, s256 } from "./server.js";

/**
 * A key for the account `browser` is signed in as, made the way an app makes one: the consent
 * page approved, the code exchanged over HTTP.
 */
export async function keyForSignedIn(browser: Browser, limit?: string): Promise<string> {
  const verifier = newVerifier();
  const code = await approve(browser, {
    callback_url: "https://app.example/cb",
    code_challenge: s256(verifier),
    code_challenge_method: "S256",
    ...(limit === undefined ? {} : { limit }),
  });
  const answer = await exchange(browser.baseUrl, { code, code_verifier: verifier });
  if (answer.status !== 200) throw new Error(`exchange answered ${answer.status}`);
  return ((await answer.json()) as { key: string }).key;
}

/** One small `keyport/echo` chat completion with `key`; its status and error body. */
export async function echoCall(
  baseUrl: string,
  key: string,
): Promise<{ status: number; error?: { code: number; message: string; metadata?: unknown } }> {
  const answer = await fetch(`${baseUrl}/api/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: "keyport/echo",
      max_tokens: 5,
      messages: [{ role: "user", content: "hello there" }],
    }),
  });
  const body = (await answer.json()) as { error?: { code: number; message: string } };
  return { status: answer.status, error: body.error };
}
