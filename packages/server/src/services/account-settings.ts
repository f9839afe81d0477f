import { hashPassword, verifyPassword } from "../domain/passwords.js";
import type { User } from "../store/store.js";
import type { ServiceDeps } from "./deps.js";
import { MAX_PASSWORD_LENGTH, passwordLength, passwordProblem } from "./password-policy.js";

/** Why a request that needs the current password was refused. */
const WRONG_PASSWORD = "That is not your current password.";

/**
 * Whether `password` is the user's current one. Too long a password is checked on a bounded
 * prefix (it cannot match), so its cost stays bounded as on the sign-in form.
 */
function isCurrentPassword(user: User, password: string): Promise<boolean> {
  const checked =
    passwordLength(password) <= MAX_PASSWORD_LENGTH
      ? password
      : password.slice(0, 2 * MAX_PASSWORD_LENGTH);
  return verifyPassword(user.passwordHash, checked);
}

/**
 * Changes a user's password: the current one must match, the new one follows the sign-up policy.
 * Every other session of the user ends; `keepSession` (the id hash of the one asking) stays.
 * Returns the problem to show, or `undefined` once changed.
 * @example
 * const problem = await changePassword(deps, user, current, next, sessionIdHash);
 */
export async function changePassword(
  deps: ServiceDeps,
  user: User,
  current: string,
  next: string,
  keepSession: string,
): Promise<string | undefined> {
  if (!(await isCurrentPassword(user, current))) return WRONG_PASSWORD;
  const problem = passwordProblem(next);
  if (problem) return problem;
  await deps.store.setPassword(user.id, await hashPassword(next), keepSession);
  return undefined;
}

/**
 * Deletes the account once the password matches: every key revoked, every session ended.
 * Returns the problem to show, or `undefined` once deleted.
 */
export async function deleteAccount(
  deps: ServiceDeps,
  user: User,
  password: string,
): Promise<string | undefined> {
  if (!(await isCurrentPassword(user, password))) return WRONG_PASSWORD;
  await deps.store.deleteAccount(user.id, deps.clock());
  return undefined;
}
