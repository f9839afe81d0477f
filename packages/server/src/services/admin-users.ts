import { MAX_CREDIT_LIMIT } from "../domain/constants.js";
import { toMicros } from "../domain/credits.js";
import { hashPassword } from "../domain/passwords.js";
import type { User, UserSummary } from "../store/store.js";
import { normalizeEmail } from "./accounts.js";
import type { ServiceDeps } from "./deps.js";
import { passwordProblem } from "./password-policy.js";

/** Accounts per page of the admin listing (`/admin/users`, `keyport users list`). */
const USERS_PAGE_SIZE = 50;
/** The window of the listing's recent spend. */
const SPEND_WINDOW_DAYS = 30;
/** The longest search text the listing takes. */
const MAX_USER_SEARCH = 254;

/** A page of the admin listing. */
export interface UsersPage {
  readonly users: readonly UserSummary[];
  readonly total: number;
  /** 1-based. */
  readonly page: number;
  readonly pages: number;
}

/** An operator's mistake, in words for the page or the terminal. */
export class AdminInputError extends Error {
  override name = "AdminInputError";
}

/**
 * One page of accounts whose email contains `search` (case-insensitive), oldest first, each
 * with its total spend, its spend over the last {@link SPEND_WINDOW_DAYS} days and its live keys.
 * @example
 * const { users, pages } = await listAccounts(deps, { search: "@example.com", page: 1 });
 */
export async function listAccounts(
  deps: ServiceDeps,
  options: { search?: string; page?: number; pageSize?: number },
): Promise<UsersPage> {
  const search = options.search?.trim() ?? "";
  if (search.length > MAX_USER_SEARCH)
    throw new AdminInputError(`Search at most ${MAX_USER_SEARCH} characters.`);
  const size = options.pageSize ?? USERS_PAGE_SIZE;
  const page = Math.max(1, Math.floor(options.page ?? 1));
  const since = new Date(deps.clock().getTime() - SPEND_WINDOW_DAYS * 86_400_000);
  const { users, total } = await deps.store.listUsers({
    search: search || undefined,
    offset: (page - 1) * size,
    limit: size,
    since,
  });
  return { users, total, page, pages: Math.max(1, Math.ceil(total / size)) };
}

/** The account with this email, or `undefined`. */
export function findAccount(deps: ServiceDeps, email: string): Promise<User | undefined> {
  return deps.store.findUserByEmail(normalizeEmail(email));
}

/**
 * Disables an account at once: its sessions end in the same transaction, it cannot sign in,
 * and its keys are refused by the gateway and the key API from the next request on. Enabling
 * lets it sign in again and its keys work again (revoked ones stay revoked).
 */
export function setAccountDisabled(
  deps: ServiceDeps,
  userId: string,
  disabled: boolean,
): Promise<User | undefined> {
  return deps.store.setUserDisabled(userId, disabled ? deps.clock() : null);
}

/**
 * Parses an operator's credit: a number of credits from 0 to {@link MAX_CREDIT_LIMIT}, or
 * empty / `none` for no account cap.
 */
export function parseCredit(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed.toLowerCase() === "none") return null;
  const credits = Number(trimmed);
  if (!/^\d+(\.\d+)?$/.test(trimmed) || !Number.isFinite(credits) || credits > MAX_CREDIT_LIMIT)
    throw new AdminInputError(
      `Credit must be a number of credits from 0 to ${MAX_CREDIT_LIMIT}, or "none" for no cap.`,
    );
  return credits;
}

/**
 * Sets the account credit: what all the account's keys may spend together, ever (revoked
 * keys' spend included). The gateway refuses (`402`) a request whose worst case would pass it;
 * `null` removes the cap, leaving each key's own limit.
 */
export function setAccountCredit(
  deps: ServiceDeps,
  userId: string,
  credits: number | null,
): Promise<User | undefined> {
  return deps.store.setUserCredit(userId, credits === null ? null : toMicros(credits));
}

/**
 * An operator's password reset: the password policy applies, and every session of the
 * account ends. Returns the policy's problem, or `undefined` once done.
 */
export async function resetPassword(
  deps: ServiceDeps,
  userId: string,
  password: string,
): Promise<string | undefined> {
  const problem = passwordProblem(password);
  if (problem) return problem;
  await deps.store.setUserPassword(userId, await hashPassword(password));
  return undefined;
}
