import { hashPassword } from "../domain/passwords.js";
import { randomToken, sha256Hex } from "../domain/secrets.js";
import type { ServiceDeps } from "./deps.js";
import type { Mailer } from "./mailer.js";
import { passwordProblem } from "./password-policy.js";

/** A reset link works this long after it is sent. */
const RESET_LINK_LIFETIME_MS = 30 * 60_000;

/**
 * Sends a password-reset link to `email` when it has an account; does nothing otherwise, so
 * the caller answers both cases alike (no account enumeration). The link carries 256 random
 * bits; only their SHA-256 is stored, valid 30 minutes, usable once.
 * @example
 * await sendResetLink(deps, mailer, email, (token) => `${publicUrl}/reset/${token}`);
 */
export async function sendResetLink(
  deps: ServiceDeps,
  mailer: Mailer,
  email: string,
  linkFor: (token: string) => string,
): Promise<void> {
  const user = await deps.store.findUserByEmail(email);
  if (!user) return;
  const token = randomToken();
  const now = deps.clock();
  await deps.store.createPasswordReset({
    tokenHash: sha256Hex(token),
    userId: user.id,
    createdAt: now,
    expiresAt: new Date(now.getTime() + RESET_LINK_LIFETIME_MS),
  });
  await mailer.send({
    to: user.email,
    subject: "Reset your Keyport password",
    text: [
      "Someone asked to reset the password of your Keyport account.",
      "",
      "To choose a new password, open this link within 30 minutes. It works once:",
      linkFor(token),
      "",
      "If it was not you, ignore this email: your password stays as it is.",
    ].join("\n"),
  });
}

/** Whether a reset link's token is live (unused, unexpired): the page shows the form then. */
export async function resetLinkIsLive(deps: ServiceDeps, token: string): Promise<boolean> {
  return (await deps.store.findPasswordReset(sha256Hex(token), deps.clock())) !== undefined;
}

/** The end of a reset: the new password set, or why not. */
export type ResetOutcome =
  | { readonly done: true }
  | { readonly done: false; readonly problem: string; readonly linkDead: boolean };

/**
 * Sets a new password through a reset link, once: the link and the user's other links are used
 * up and every session of the user ends, in one transaction.
 */
export async function resetPassword(
  deps: ServiceDeps,
  token: string,
  password: string,
): Promise<ResetOutcome> {
  const problem = passwordProblem(password);
  if (problem) return { done: false, problem, linkDead: false };
  const userId = await deps.store.usePasswordReset(
    sha256Hex(token),
    deps.clock(),
    await hashPassword(password),
  );
  if (!userId) return { done: false, problem: DEAD_LINK, linkDead: true };
  return { done: true };
}

/** What a used, expired or unknown link says. */
export const DEAD_LINK = "This reset link has expired or was already used. Ask for a new one.";
