import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, posix, win32 } from "node:path";
import { randomToken } from "../platform.js";
import { withFileLock } from "./file-lock.js";

/** One saved key. */
export interface StoredKey {
  key: string;
  userId?: string | undefined;
  label?: string | undefined;
  /** ISO 8601 UTC. */
  savedAt: string;
}

/** Where {@link credentialsPath} looks; defaults are the running process's. */
export interface CredentialsPathOptions {
  env?: Readonly<Record<string, string | undefined>>;
  platform?: string;
  homedir?: string;
}

/** Options of {@link saveKey}, {@link loadKey} and {@link deleteKey}. */
export interface CredentialsFileOptions {
  /** The credentials file. Default {@link credentialsPath}(). */
  path?: string;
}

/** The file; fields other than `keys` (such as the CLI's `profiles`) are kept as they are. */
interface CredentialsFile {
  [field: string]: unknown;
  version: 1;
  keys: Record<string, StoredKey>;
}

/**
 * The credentials file of the current user: `$XDG_CONFIG_HOME/keyport/credentials.json`
 * (default `~/.config/keyport`), `~/Library/Application Support/keyport` on macOS,
 * `%APPDATA%\keyport` on Windows.
 *
 * @see https://specifications.freedesktop.org/basedir-spec/latest/
 * @example
 * ```ts
 * credentialsPath({ env: { XDG_CONFIG_HOME: "/tmp/cfg" }, platform: "linux" });
 * // "/tmp/cfg/keyport/credentials.json"
 * ```
 */
export function credentialsPath(options: CredentialsPathOptions = {}): string {
  const { env = process.env, platform = process.platform, homedir: home = homedir() } = options;
  if (platform === "win32") {
    return win32.join(
      env.APPDATA || win32.join(home, "AppData", "Roaming"),
      "keyport",
      "credentials.json",
    );
  }
  const xdg = env.XDG_CONFIG_HOME;
  const dir =
    platform === "darwin"
      ? posix.join(home, "Library", "Application Support")
      : // The spec says to ignore a relative XDG_CONFIG_HOME.
        xdg && posix.isAbsolute(xdg)
        ? xdg
        : posix.join(home, ".config");
  return posix.join(dir, "keyport", "credentials.json");
}

/** Keys are filed by origin and path, so `https://openrouter.ai/` and `…ai` are one entry. */
function entryName(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw Object.assign(new TypeError('"baseUrl" must be an absolute URL'), {
      code: "ERR_INVALID_ARG_VALUE",
    });
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}

/**
 * The whole credentials file at `path` as JSON (`{ version: 1, keys: {} }` when there is none),
 * for tools that keep their own fields beside the SDK's `keys`, as the Keyport CLI keeps its
 * `profiles`. Throws when the file exists but is not a JSON object: never overwrite what cannot
 * be read, it may hold keys the user still needs.
 *
 * @example
 * ```ts
 * const { profiles } = await readCredentialsDocument(credentialsPath());
 * ```
 */
export async function readCredentialsDocument(path: string): Promise<Record<string, unknown>> {
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
    throw new Error(`${path} is not valid JSON; fix or remove it`, { cause });
  }
  const keys = (data as { keys?: unknown } | null)?.keys;
  if (typeof data !== "object" || Array.isArray(data) || typeof keys !== "object" || !keys) {
    throw new Error(`${path} is not a Keyport credentials file; fix or remove it`);
  }
  return data as Record<string, unknown>;
}

/**
 * Rewrites the credentials file at `path` with what `change` makes of it (`undefined`: leave it
 * as it is), atomically (mode 0600, directory 0700) and one change at a time, across processes
 * too (a `credentials.json.lock` file held for the change).
 *
 * @example
 * ```ts
 * await updateCredentialsDocument(path, (document) => ({ ...document, profiles }));
 * ```
 */
export function updateCredentialsDocument(
  path: string,
  change: (document: Record<string, unknown>) => Record<string, unknown> | undefined,
): Promise<void> {
  return serialised(path, async () => {
    const changed = change(await readCredentialsDocument(path));
    if (changed) await writeCredentials(path, changed);
  });
}

async function readCredentials(path: string): Promise<CredentialsFile> {
  const data = await readCredentialsDocument(path);
  return { ...data, version: 1, keys: data.keys as Record<string, StoredKey> };
}

/**
 * Replaces the file atomically: readers see the old content or the new, never a part. Runs only
 * inside {@link serialised}, which has made the directory.
 */
async function writeCredentials(path: string, data: Record<string, unknown>): Promise<void> {
  const dir = dirname(path);
  const temporary = `${path}.${process.pid}.${randomToken(8)}.tmp`;
  const file = await open(temporary, "wx", 0o600);
  try {
    try {
      await file.writeFile(`${JSON.stringify(data, null, 2)}\n`);
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

/**
 * Serialises read-modify-write cycles per file, so none is lost: in this process by a queue, and
 * across processes by the file's lock.
 */
const queues = new Map<string, Promise<unknown>>();

function serialised<T>(path: string, task: () => Promise<T>): Promise<T> {
  const locked = async () => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    return withFileLock(path, task);
  };
  const run = (queues.get(path) ?? Promise.resolve()).then(locked, locked);
  const tail = run.catch(() => undefined);
  queues.set(path, tail);
  tail.then(() => queues.get(path) === tail && queues.delete(path));
  return run;
}

/**
 * Saves the key for `baseUrl`, replacing any previous one, in a file only the user can read
 * (mode 0600, directory 0700), written atomically.
 *
 * @example
 * ```ts
 * const { key, userId } = await signIn();
 * await saveKey("https://openrouter.ai", { key, userId, label: "my-cli" });
 * ```
 */
export async function saveKey(
  baseUrl: string,
  entry: Omit<StoredKey, "savedAt"> & { savedAt?: string | Date },
  options: CredentialsFileOptions = {},
): Promise<void> {
  const name = entryName(baseUrl);
  if (typeof entry.key !== "string" || !entry.key) {
    throw Object.assign(new TypeError('"key" must be a non-empty string'), {
      code: "ERR_INVALID_ARG_VALUE",
    });
  }
  const path = options.path ?? credentialsPath();
  return serialised(path, async () => {
    const data = await readCredentials(path);
    data.keys[name] = {
      key: entry.key,
      userId: entry.userId,
      label: entry.label,
      savedAt: new Date(entry.savedAt ?? Date.now()).toISOString(),
    };
    await writeCredentials(path, data);
  });
}

/**
 * The key saved for `baseUrl`, or `undefined`.
 *
 * @example
 * ```ts
 * const saved = await loadKey("https://openrouter.ai");
 * if (!saved) await signIn();
 * ```
 */
export async function loadKey(
  baseUrl: string,
  options: CredentialsFileOptions = {},
): Promise<StoredKey | undefined> {
  const name = entryName(baseUrl);
  const path = options.path ?? credentialsPath();
  const entry: unknown = (await readCredentials(path)).keys[name];
  if (typeof entry !== "object" || entry === null) return undefined;
  const { key, userId, label, savedAt } = entry as Record<string, unknown>;
  if (typeof key !== "string") return undefined;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  return { key, userId: text(userId), label: text(label), savedAt: text(savedAt) ?? "" };
}

/**
 * Forgets the key saved for `baseUrl`. Resolves `true` if there was one. Revoke the key on
 * the server too if it should stop working.
 *
 * @example
 * ```ts
 * await deleteKey("https://openrouter.ai");
 * ```
 */
export async function deleteKey(
  baseUrl: string,
  options: CredentialsFileOptions = {},
): Promise<boolean> {
  const name = entryName(baseUrl);
  const path = options.path ?? credentialsPath();
  return serialised(path, async () => {
    const data = await readCredentials(path);
    if (!(name in data.keys)) return false;
    delete data.keys[name];
    await writeCredentials(path, data);
    return true;
  });
}
