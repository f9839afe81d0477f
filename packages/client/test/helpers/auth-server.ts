import { createCodeChallenge } from "../../src/index.js";
import { errorBody, json, startServer, type TestServer } from "./http-server.js";

export interface AuthServer extends TestServer {
  /**
   * Plays the consent page approving: issues a code bound to the URL's challenge and returns
   * the callback URL the browser would be redirected to (with `state` echoed).
   */
  approve(authorizationUrl: string, extra?: Record<string, string>): string;
  /** Plays the headless consent page: issues a code and returns it, as the page shows it. */
  issueCode(authorizationUrl: string): string;
  /** Exchanges that minted a key. */
  minted: string[];
}

/**
 * A real HTTP exchange endpoint on 127.0.0.1 that verifies PKCE the way the protocol says:
 * single-use codes, method must match, S256 or plain.
 */
export async function startAuthServer(): Promise<AuthServer> {
  const issued = new Map<string, { challenge: string; method: string }>();
  const minted: string[] = [];
  const server = await startServer(async (request, res) => {
    if (request.url !== "/api/v1/auth/keys" || request.method !== "POST") {
      return json(res, 404, errorBody(404, "Not Found"));
    }
    const body = JSON.parse(request.body) as Record<string, string>;
    const grant = issued.get(body.code ?? "");
    issued.delete(body.code ?? "");
    if (grant && grant.method !== body.code_challenge_method) {
      return json(res, 400, errorBody(400, "Invalid code_challenge_method"));
    }
    const verifier = body.code_verifier ?? "";
    const method = grant?.method === "plain" ? "plain" : "S256";
    const matches =
      grant && (await createCodeChallenge(verifier, method).catch(() => "")) === grant.challenge;
    if (!matches) return json(res, 403, errorBody(403, "Invalid code or code_verifier"));
    const key = `sk-kp-v1-${String(minted.length + 1).padStart(64, "0")}`;
    minted.push(key);
    json(res, 200, { key, user_id: "user_1" });
  });
  let counter = 0;
  const issueCode = (authorizationUrl: string) => {
    const params = new URL(authorizationUrl).searchParams;
    counter += 1;
    const code = `code-${counter}`;
    issued.set(code, {
      challenge: params.get("code_challenge") ?? "",
      method: params.get("code_challenge_method") ?? "",
    });
    return code;
  };
  return {
    issueCode,
    ...server,
    minted,
    approve(authorizationUrl, extra = {}) {
      const params = new URL(authorizationUrl).searchParams;
      const code = issueCode(authorizationUrl);
      const callback = new URL(params.get("callback_url") ?? "");
      callback.searchParams.set("code", code);
      const state = params.get("state");
      if (state) callback.searchParams.set("state", state);
      for (const [name, value] of Object.entries(extra)) callback.searchParams.set(name, value);
      return callback.href;
    },
  };
}
