import { open, readFile, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";

/** How long a writer waits for another process's turn before it gives up. */
const WAIT_MS = 10_000;
/** A lock whose holder cannot be checked (another machine's) is taken over after this long. */
const STALE_MS = 30_000;

/** The credentials file is held by another process for longer than a write can take. */
export class FileLockedError extends Error {
  override name = "FileLockedError";
  readonly code = "ERR_FILE_LOCKED";
}

/**
 * Runs `task` while holding `<path>.lock`, a file created exclusively (`O_EXCL`) holding this
 * process's id and host name, so that read-modify-write cycles of separate processes (two
 * `keyport login` at once, an app and the CLI) take turns instead of losing each other's
 * changes. A lock whose process on this host has died (killed mid-write) is taken over at once;
 * one older than 30 s, whatever its holder (another host's, on a shared home directory). The
 * directory must exist.
 * @throws {FileLockedError} when another live process has held the lock for 10 s.
 */
export async function withFileLock<T>(path: string, task: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    if (await tryCreate(lock)) break;
    if (await isStale(lock)) {
      await rm(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new FileLockedError(
        `${path} is locked by another process (${lock}); remove that file if no Keyport tool is running`,
      );
    }
    // Backs off from 2 ms to 50 ms, with jitter so that waiters do not retry in step.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(50, 2 ** Math.min(attempt + 1, 6)) * (0.5 + Math.random())),
    );
  }
  try {
    return await task();
  } finally {
    await rm(lock, { force: true });
  }
}

async function tryCreate(lock: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(lock, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(`${process.pid}@${hostname()}\n`);
  } catch (error) {
    // A lock without its holder's id would make every other writer wait out the 30 s.
    await handle.close();
    await rm(lock, { force: true });
    throw error;
  }
  await handle.close();
  return true;
}

/** The holder, on this host, has exited; or the lock is older than any write takes. */
async function isStale(lock: string): Promise<boolean> {
  let text: string;
  let modified: number;
  try {
    [text, modified] = await Promise.all([
      readFile(lock, "utf8"),
      stat(lock).then((info) => info.mtimeMs),
    ]);
  } catch (error) {
    // Released meanwhile: not stale, just free.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  const [pidText = "", host] = text.trim().split("@");
  const pid = Number(pidText);
  const here = host === undefined || host === hostname();
  if (here && Number.isInteger(pid) && pid > 0 && !isAlive(pid)) return true;
  return Date.now() - modified > STALE_MS;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
