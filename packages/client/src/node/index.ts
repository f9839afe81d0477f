/**
 * `@keyport/client/node`: sign-in for CLIs and scripts, through the system browser and a
 * loopback listener ({@link signInWithLoopback}), by pasting a code ({@link signInHeadless}),
 * or whichever fits ({@link signIn}); plus a per-user credentials file. Re-exports the core.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8252
 * @packageDocumentation
 */

export * from "../index.js";
export {
  type CredentialsFileOptions,
  type CredentialsPathOptions,
  credentialsPath,
  deleteKey,
  loadKey,
  readCredentialsDocument,
  type StoredKey,
  saveKey,
  updateCredentialsDocument,
} from "./credentials.js";
export { FileLockedError } from "./file-lock.js";
export { type HeadlessSignInOptions, signInHeadless } from "./headless.js";
export {
  type BrowserOpener,
  type LoopbackSignInOptions,
  printUrl,
  signInWithLoopback,
} from "./loopback.js";
export { openBrowser } from "./open-browser.js";
export { type SignInOptions, signIn } from "./sign-in.js";
