import { randomUUID } from "node:crypto";
import { hashPassword } from "../domain/passwords.js";
import type { AdminGrant } from "../store/store.js";
import type { ServiceDeps } from "./deps.js";
import { passwordProblem } from "./password-policy.js";

const EMAIL_SHAPE = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

/** Normalises an email for storage and lookup. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Whether an email and password are acceptable for a new account; the problem otherwise. The
 * answer depends on the two values alone, never on whether the email already has an account.
 */
export function accountProblem(email: string, password: string): string | undefined {
  if (!EMAIL_SHAPE.test(email)) return "Enter a valid email address.";
  return passwordProblem(password);
}

/**
 * Creates an account with an argon2id password hash; `undefined` when the email is taken. The
 * sign-up page and `keyport users create` both create accounts through here; `admin` says
 * whether the account is an operator (`if-first`: only the first account of the server).
 * @example
 * const user = await createAccount({ store, clock: systemClock }, email, password);
 */
export async function createAccount(
  deps: ServiceDeps,
  email: string,
  password: string,
  admin: AdminGrant = "never",
) {
  return deps.store.createUser(
    {
      id: `user_${randomUUID().replaceAll("-", "")}`,
      email,
      passwordHash: await hashPassword(password),
      createdAt: deps.clock(),
    },
    admin,
  );
}
