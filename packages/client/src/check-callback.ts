import { AccessDeniedError, KeyportError, StateMismatchError } from "./errors.js";
import { timingSafeEqual } from "./platform.js";

/** What the authorization server appended to the callback URL. */
export interface CallbackParams {
  code: string | null;
  state: string | null;
  error: string | null;
}

/** Checks the callback against the stored sign-in; throws the error the caller sees. */
export function checkCallback(
  callback: CallbackParams,
  expectedState: string | undefined,
): asserts callback is CallbackParams & { code: string } {
  if (callback.error !== null) {
    const message = `Authorization failed: ${callback.error}`;
    throw callback.error === "access_denied"
      ? new AccessDeniedError("The user declined to connect")
      : new KeyportError(message, { cause: callback });
  }
  if (expectedState === undefined) {
    throw new StateMismatchError("No sign-in was started in this tab");
  }
  // OpenRouter may not echo state; PKCE still binds the code to this tab's verifier then.
  if (callback.state !== null && !timingSafeEqual(callback.state, expectedState)) {
    throw new StateMismatchError("The callback's state does not match this sign-in");
  }
}
