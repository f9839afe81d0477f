import { readCredentialsDocument, updateCredentialsDocument } from "@keyport/client/node";

/**
 * One named CLI profile in the credentials file: the server `keyport login --server` chose,
 * and the key it saved there. `logout` drops the key and keeps the server.
 */
export interface Profile {
  readonly server: string;
  readonly key?: string | undefined;
  readonly userId?: string | undefined;
  readonly label?: string | undefined;
  /** ISO 8601 UTC. */
  readonly savedAt?: string | undefined;
}

/** `default`, `work`, `staging-2`: a letter or digit, then letters, digits, `.`, `_`, `-`. */
export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Narrows one stored profile field by field; anything malformed reads as no profile. */
function asProfile(entry: unknown): Profile | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const { server, key, userId, label, savedAt } = entry as Record<string, unknown>;
  if (typeof server !== "string") return undefined;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return {
    server,
    key: text(key),
    userId: text(userId),
    label: text(label),
    savedAt: text(savedAt),
  };
}

/**
 * The profile `name` of the credentials file at `path`, or `undefined`. Throws when the file
 * exists but cannot be read as a credentials file, before any sign-in could be lost.
 *
 * @example
 * ```ts
 * const saved = await readProfile("/home/me/.config/keyport/credentials.json", "default");
 * ```
 */
export async function readProfile(path: string, name: string): Promise<Profile | undefined> {
  const { profiles } = await readCredentialsDocument(path);
  return typeof profiles === "object" && profiles !== null
    ? asProfile((profiles as Record<string, unknown>)[name])
    : undefined;
}

/**
 * Replaces the profile `name` (or removes it, for `undefined`), keeping everything else in the
 * file. The file is written atomically (a temporary file renamed over it) with mode 0600 in a
 * 0700 directory: readers see the old content or the new, never a part.
 *
 * @example
 * ```ts
 * await writeProfile(path, "default", { server: "http://localhost:8787", key });
 * ```
 */
export async function writeProfile(
  path: string,
  name: string,
  profile: Profile | undefined,
): Promise<void> {
  await updateCredentialsDocument(path, (document) => {
    const profiles = {
      ...(typeof document.profiles === "object"
        ? (document.profiles as Record<string, unknown>)
        : {}),
    };
    if (profile) profiles[name] = profile;
    else delete profiles[name];
    return { ...document, profiles };
  });
}
