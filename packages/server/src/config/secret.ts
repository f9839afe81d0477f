import { readFileSync } from "node:fs";

/** The shortest signing secret accepted from the operator: 32 bytes, as long as a SHA-256 key. */
const MIN_SECRET_BYTES = 32;

/** The operator's signing secret, when it is kept outside the database. */
interface OperatorSecret {
  /** The secret itself; `undefined` means the server keeps a generated one in its database. */
  readonly secret: string | undefined;
  /** The file it was read from, so start-up can check that file's permissions. */
  readonly secretFile: string | undefined;
}

/** A secret setting the server cannot run with; the message never contains the secret. */
export class SecretConfigError extends Error {
  override name = "SecretConfigError";
  constructor(
    /** `secret` or `secretFile`: which setting was wrong. */
    readonly setting: "secret" | "secretFile",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Resolves the signing secret (CSRF tokens and other signed form values) from `KEYPORT_SECRET`
 * or the file `KEYPORT_SECRET_FILE` names (one line; a trailing newline is dropped), for
 * operators who keep secrets out of the database. Neither: the server generates one and stores
 * it in the database, as before. Both, an unreadable file, or fewer than 32 bytes: refused.
 *
 * @throws {SecretConfigError}
 * @example
 * resolveSecret(undefined, "/run/secrets/keyport"); // { secret: "…", secretFile: "/run/…" }
 */
export function resolveSecret(value?: string, file?: string): OperatorSecret {
  if (value !== undefined && file !== undefined) {
    throw new SecretConfigError("secret", "set the secret or a file holding it, not both");
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new SecretConfigError("secretFile", `cannot read ${file} (${reason})`);
    }
    return { secret: checked("secretFile", text.replace(/\r?\n$/, "")), secretFile: file };
  }
  return {
    secret: value === undefined ? undefined : checked("secret", value),
    secretFile: undefined,
  };
}

function checked(setting: "secret" | "secretFile", secret: string): string {
  // Eight distinct characters at least: "aaaa…" or "changeme" repeated is a placeholder.
  const varied = new Set(secret).size >= 8;
  if (Buffer.byteLength(secret, "utf8") < MIN_SECRET_BYTES || secret.trim() !== secret || !varied) {
    throw new SecretConfigError(
      setting,
      `must be at least ${MIN_SECRET_BYTES} random bytes without surrounding spaces, e.g. the output of \`openssl rand -base64 32\``,
    );
  }
  return secret;
}
