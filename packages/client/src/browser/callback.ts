import type { CallbackParams } from "../check-callback.js";

/** The callback parameters in `search`, or `null` when it carries neither code nor error. */
export function readCallback(search: string): CallbackParams | null {
  const params = new URLSearchParams(search);
  const code = params.get("code");
  const error = params.get("error");
  return code === null && error === null ? null : { code, state: params.get("state"), error };
}

/** The callback URL's address without query and fragment: where the browser will come back. */
export function pageAddress(url: string): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}
