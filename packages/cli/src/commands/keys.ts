import {
  issueKey,
  keyView,
  normalizeEmail,
  openStore,
  parseConfig,
  type Store,
  type StoredKey,
  systemClock,
} from "@keyport/server";
import type { Command } from "../command.js";
import { columns } from "../help.js";
import type { CommandIo } from "../io.js";
import { EXIT, UsageError } from "../io.js";
import { table } from "../table.js";

const USAGE = `Usage: keyport keys create-management --email EMAIL [--name TEXT] [--database PATH|URL]
       keyport keys list --email EMAIL [--database PATH|URL]
       keyport keys revoke --hash HASH [--database PATH|URL]

Administers keys directly in the database (no server needed).

${columns([
  [
    "create-management",
    "mints a management key for the account and prints it once; it\nauthenticates /api/v1/keys and /api/v1/auth/keys/code, not the gateway",
  ],
  [
    "list",
    "the account's keys in columns: hash, kind, state, usage today and in total,\nlimit (/day, /week or /month when it resets), credits left, name",
  ],
  ["revoke", "revokes a key by its hash (SHA-256 hex of the key)"],
])}
Options:
${columns([
  ["--email EMAIL", "the account's email"],
  ["--name TEXT", 'the management key\'s name (default "Management key")'],
  ["--hash HASH", "the key's hash, as `keys list` prints it"],
  ["--database PATH|URL", "SQLite file or postgres:// URL (KEYPORT_DATABASE)"],
])}`;

const HASH = /^[0-9a-f]{64}$/;

/** `keyport keys`: management keys, listing and revocation for operators. */
export const keysCommand: Command = {
  usage: USAGE,
  subcommands: ["create-management", "list", "revoke"],
  options: {
    email: { type: "string" },
    name: { type: "string" },
    hash: { type: "string" },
    database: { type: "string" },
  },
  async run({ values, positionals }, io) {
    const action = positionals[0];
    const prepare =
      action !== undefined && Object.hasOwn(actions, action) ? actions[action] : undefined;
    if (positionals.length !== 1 || !prepare) {
      throw new UsageError(
        "expected `keys create-management`, `keys list` or `keys revoke`. Run `keyport keys --help`.",
      );
    }
    const work = prepare(values);
    const config = parseConfig({ database: values.database as string | undefined }, io.env);
    const store = await openStore(config.database);
    try {
      return await work(store, io);
    } finally {
      await store.close();
    }
  },
};

/** Validates the flags before the database is opened, then does the work on the store. */
type Action = (values: Record<string, unknown>) => (store: Store, io: CommandIo) => Promise<number>;

const actions: Record<string, Action> = {
  "create-management"(values) {
    const email = requiredEmail(values);
    const name = values.name === undefined ? "Management key" : String(values.name).trim();
    if (name.length === 0 || name.length > 100)
      throw new UsageError("--name must be 1-100 characters.");
    return async (store, io) => {
      const user = await findUser(store, email, io);
      if (!user) return EXIT.failure;
      const { key } = await issueKey(store, systemClock(), {
        userId: user.id,
        label: name,
        limitMicros: null,
        limitReset: null,
        expiresAt: null,
        isManagement: true,
      });
      io.stdout.write(`${key}\n`);
      return EXIT.ok;
    };
  },

  list(values) {
    const email = requiredEmail(values);
    return async (store, io) => {
      const user = await findUser(store, email, io);
      if (!user) return EXIT.failure;
      const keys = await store.listKeys(user.id, {
        offset: 0,
        limit: 10_000,
        includeDisabled: true,
        includeManagement: true,
      });
      io.stdout.write(describeKeys(keys, systemClock()));
      return EXIT.ok;
    };
  },

  revoke(values) {
    const hash = values.hash;
    if (typeof hash !== "string" || !HASH.test(hash))
      throw new UsageError("--hash must be 64 lower-case hex characters (see `keys list`).");
    return async (store, io) => {
      if (!(await store.revokeKey(hash, systemClock()))) {
        io.stderr.write(`keyport keys: no live key has the hash ${hash}.\n`);
        return EXIT.failure;
      }
      io.stdout.write(`revoked ${hash}\n`);
      return EXIT.ok;
    };
  },
};

function requiredEmail(values: Record<string, unknown>): string {
  if (typeof values.email !== "string") throw new UsageError("--email is required.");
  return normalizeEmail(values.email);
}

async function findUser(store: Store, email: string, io: CommandIo) {
  const user = await store.findUserByEmail(email);
  if (!user) io.stderr.write(`keyport keys: no account has the email ${email}.\n`);
  return user;
}

/**
 * One row per key under a header, in aligned columns: hash, kind, state, usage today and in
 * total, limit (with its reset window) and what is left of it, then the name. Usage and limits
 * are in credits, read as `GET /api/v1/keys` reports them.
 */
function describeKeys(keys: readonly StoredKey[], now: Date): string {
  const rows = keys.map((key) => {
    const view = keyView(key, now);
    const reset = view.limit_reset ? `/${PER[view.limit_reset] ?? view.limit_reset}` : "";
    return [
      key.hash,
      key.isManagement ? "management" : "key",
      key.disabled ? "disabled" : "live",
      credits(view.usage_daily),
      credits(view.usage),
      view.limit === null ? "none" : `${credits(view.limit)}${reset}`,
      view.limit_remaining === null ? "-" : credits(view.limit_remaining),
      key.label,
    ];
  });
  return table([["HASH", "KIND", "STATE", "TODAY", "TOTAL", "LIMIT", "LEFT", "NAME"], ...rows]);
}

const PER: Record<string, string> = { daily: "day", weekly: "week", monthly: "month" };

const credits = (value: number) => String(Number(value.toFixed(6)));
