/** What a command may touch of the process, passed in so commands are testable in-process. */
export interface CommandIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Exit codes scripts can rely on. */
export const EXIT = Object.freeze({
  ok: 0,
  /** Something failed while doing what was asked. */
  failure: 1,
  /** The command line was wrong: unknown command or flag, bad value. */
  usage: 2,
  /** Signed out, denied, or the stored key was refused. */
  unauthorized: 3,
});

/** A failure that is the user's to fix; printed as one line with what to do next. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Reads all of stdin as text (for `--password-stdin`). */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}
