/**
 * `@keyport/client/browser`: sign-in for web apps, by redirect ({@link startSignIn} then
 * {@link completeSignIn} on the callback page) or by popup ({@link signInWithPopup} with
 * {@link completePopupCallback} on the callback page). Re-exports the core.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636
 * @packageDocumentation
 */

export type { CallbackParams } from "../check-callback.js";
export * from "../index.js";
export type { BrowserEnvironment } from "./environment.js";
export {
  completePopupCallback,
  PopupBlockedError,
  type PopupCallbackOptions,
  PopupClosedError,
  type PopupHost,
  type PopupSignInOptions,
  type PopupWindow,
  signInWithPopup,
} from "./popup.js";
export {
  type CompleteSignInOptions,
  completeSignIn,
  type StartSignInOptions,
  startSignIn,
} from "./redirect.js";
