import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";

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

/**
 * The file as a whole: the SDK's `keys` (by server) and the CLI's `profiles` (by name) live
 * side by side, and each writer keeps what it does not own.
 */
type CredentialsDocument = Record<string, unknown> & { profiles?: Record<string, unknown> };

async function readDocument(path: string): Promise<CredentialsDocument> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, keys: {} };
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    // Never overwrite what we cannot read: it may hold keys the user still needs.
    throw new Error(`${path} is not valid JSON; fix or remove it`, { cause });
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new Error(`${path} is not a Keyport credentials file; fix or remove it`);
  }
  return data as CredentialsDocument;
}

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
  const profiles = (await readDocument(path)).profiles;
  return typeof profiles === "object" && profiles !== null ? asProfile(profiles[name]) : undefined;
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
  const document = await readDocument(path);
  const profiles = { ...(typeof document.profiles === "object" ? document.profiles : {}) };
  if (profile) profiles[name] = profile;
  else delete profiles[name];
  await writeAtomically(path, `${JSON.stringify({ ...document, profiles }, null, 2)}\n`);
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const file = await open(temporary, "wx", 0o600);
  try {
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  // Persist the rename itself; directories cannot be opened for this on Windows.
  const directory = await open(dir, "r").catch(() => undefined);
  await directory?.sync().catch(() => undefined);
  await directory?.close();
}
