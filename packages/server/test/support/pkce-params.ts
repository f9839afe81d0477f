import type { AuthParams } from "./browser.js";
import { s256 } from "./server.js";

/** The callback the PKCE tests approve. */
export const CALLBACK = "https://app.example/cb";

/** A PKCE method as `/auth` may get it (`none`: no challenge at all). */
export type Method = "S256" | "plain" | "none";

/** The `/auth` parameters of a request with the given PKCE method. */
export function authParams(method: Method, verifier: string): AuthParams {
  if (method === "none") return { callback_url: CALLBACK };
  return {
    callback_url: CALLBACK,
    code_challenge: method === "S256" ? s256(verifier) : verifier,
    code_challenge_method: method,
  };
}

/** A JSON answer's status and body, for one `toEqual`. */
export async function answer(response: Response) {
  return { status: response.status, body: await response.json() };
}
