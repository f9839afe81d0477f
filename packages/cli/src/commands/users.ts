import {
  AdminInputError,
  accountProblem,
  createAccount,
  findAccount,
  listAccounts,
  normalizeEmail,
  openStore,
  parseConfig,
  parseCredit,
  resetPassword,
  type Store,
  setAccountCredit,
  setAccountDisabled,
  systemClock,
  type User,
} from "@keyport/server";
import type { Command } from "../command.js";
import { columns } from "../help.js";
import type { CommandIo } from "../io.js";
import { EXIT, readAll, UsageError } from "../io.js";
import { terminalText } from "../terminal-text.js";

const USAGE = `Usage: keyport users create --email EMAIL --password-stdin [--admin] [--database PATH|URL]
       keyport users list [--search TEXT] [--page N] [--database PATH|URL]
       keyport users disable --email EMAIL [--database PATH|URL]
       keyport users enable --email EMAIL [--database PATH|URL]
       keyport users set-credit --email EMAIL --credits N|none [--database PATH|URL]
       keyport users set-password --email EMAIL --password-stdin [--database PATH|URL]

Manages accounts directly in the database (no server needed); the same actions as the
admin pages (/admin/users). Passwords are read from standard input (one line).

${columns([
  ["create", "creates an account (an admin with --admin); prints its id"],
  ["list", "one line per account: email, state, live keys, spend (30 days, total), credit"],
  ["disable", "ends the account's sessions; it cannot sign in and its keys stop at once"],
  ["enable", "lets a disabled account sign in again; its keys work again"],
  ["set-credit", "caps what all the account's keys spend together, ever ('none': no cap)"],
  ["set-password", "sets a new password (the operator's reset); ends every session"],
])}
Options:
${columns([
  ["--email EMAIL", "the account's email"],
  ["--password-stdin", "read the password from standard input"],
  ["--admin", "create: the account is an operator (sees /admin/users)"],
  ["--search TEXT", "list: only emails containing TEXT"],
  ["--page N", "list: the Nth page of 50 (default 1)"],
  ["--credits N|none", "set-credit: credits, or none"],
  ["--database PATH|URL", "SQLite file or postgres:// URL (KEYPORT_DATABASE)"],
])}`;

/** Validates the flags before the database is opened, then does the work on the store. */
type Action = (
  values: Record<string, unknown>,
  io: CommandIo,
) => Promise<(store: Store) => Promise<number>>;

/** `keyport users`: accounts for operators, twin of the admin pages. */
export const usersCommand: Command = {
  usage: USAGE,
  subcommands: ["create", "list", "disable", "enable", "set-credit", "set-password"],
  options: {
    email: { type: "string" },
    "password-stdin": { type: "boolean" },
    admin: { type: "boolean" },
    search: { type: "string" },
    page: { type: "string" },
    credits: { type: "string" },
    database: { type: "string" },
  },
  async run({ values, positionals }, io) {
    const name = positionals[0];
    const action = name !== undefined && Object.hasOwn(actions, name) ? actions[name] : undefined;
    if (positionals.length !== 1 || !action) {
      throw new UsageError(
        "expected `users create`, `list`, `disable`, `enable`, `set-credit` or `set-password`. Run `keyport users --help`.",
      );
    }
    const work = await action(values, io);
    const config = parseConfig({ database: values.database as string | undefined }, io.env);
    const store = await openStore(config.database);
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  },
};

const deps = (store: Store) => ({ store, clock: systemClock });

const actions: Record<string, Action> = {
  async create(values, io) {
    const email = requiredEmail(values);
    const password = await passwordFromStdin(values, io);
    const problem = accountProblem(email, password);
    if (problem) throw new UsageError(problem);
    return async (store) => {
      const admin = values.admin === true ? "always" : "never";
      const user = await createAccount(deps(store), email, password, admin);
      if (!user) {
        io.stderr.write(`keyport users: an account with ${email} already exists.\n`);
        return EXIT.failure;
      }
      io.stdout.write(`${user.id}\n`);
      return EXIT.ok;
    };
  },

  async list(values, io) {
    const page = values.page === undefined ? 1 : Number(values.page);
    if (!Number.isInteger(page) || page < 1)
      throw new UsageError("--page must be a whole number from 1.");
    const search = typeof values.search === "string" ? values.search : undefined;
    return async (store) => {
      let listed: Awaited<ReturnType<typeof listAccounts>>;
      try {
        listed = await listAccounts(deps(store), { search, page });
      } catch (error) {
        if (error instanceof AdminInputError) throw new UsageError(error.message);
        throw error;
      }
      for (const { user, liveKeys, usage30dMicros, usageMicros } of listed.users) {
        const state = [user.isAdmin ? "admin" : "user", user.disabledAt ? "disabled" : "active"];
        const credit = user.creditMicros === null ? "none" : credits(user.creditMicros);
        io.stdout.write(
          `${terminalText(user.email)}  ${state.join(",")}  keys=${liveKeys}  spend_30d=${credits(usage30dMicros)}  spend_total=${credits(usageMicros)}  credit=${credit}\n`,
        );
      }
      io.stderr.write(`page ${listed.page} of ${listed.pages}, ${listed.total} accounts\n`);
      return EXIT.ok;
    };
  },

  disable: async (values, io) => onAccount(values, io, disableOrEnable(true)),
  enable: async (values, io) => onAccount(values, io, disableOrEnable(false)),

  async "set-credit"(values, io) {
    if (typeof values.credits !== "string")
      throw new UsageError("--credits is required (a number of credits, or none).");
    let credit: number | null;
    try {
      credit = parseCredit(values.credits);
    } catch (error) {
      if (error instanceof AdminInputError) throw new UsageError(error.message);
      throw error;
    }
    return onAccount(values, io, async (store, user) => {
      await setAccountCredit(deps(store), user.id, credit);
      io.stdout.write(
        credit === null
          ? `${user.email}: no account credit (each key's own limit applies)\n`
          : `${user.email}: account credit ${credit} credits for all keys together\n`,
      );
      return EXIT.ok;
    });
  },

  async "set-password"(values, io) {
    const password = await passwordFromStdin(values, io);
    const problem = accountProblem(requiredEmail(values), password);
    if (problem) throw new UsageError(problem);
    return onAccount(values, io, async (store, user) => {
      const problem = await resetPassword(deps(store), user.id, password);
      if (problem) throw new UsageError(problem);
      io.stdout.write(`${user.email}: password set; its sessions ended\n`);
      return EXIT.ok;
    });
  },
};

function disableOrEnable(disabled: boolean) {
  return async (store: Store, user: User, io: CommandIo) => {
    await setAccountDisabled(deps(store), user.id, disabled);
    io.stdout.write(
      disabled
        ? `${user.email}: disabled; its sessions ended and its keys stopped\n`
        : `${user.email}: enabled\n`,
    );
    return EXIT.ok;
  };
}

/** Runs `work` on the account `--email` names, or fails when there is none. */
async function onAccount(
  values: Record<string, unknown>,
  io: CommandIo,
  work: (store: Store, user: User, io: CommandIo) => Promise<number>,
) {
  const email = requiredEmail(values);
  return async (store: Store) => {
    const user = await findAccount(deps(store), email);
    if (!user) {
      io.stderr.write(`keyport users: no account with ${terminalText(email)}.\n`);
      return EXIT.failure;
    }
    return work(store, user, io);
  };
}

function requiredEmail(values: Record<string, unknown>): string {
  if (typeof values.email !== "string") throw new UsageError("--email is required.");
  return normalizeEmail(values.email);
}

async function passwordFromStdin(values: Record<string, unknown>, io: CommandIo) {
  if (!values["password-stdin"])
    throw new UsageError("--password-stdin is required (never pass a password as a flag).");
  return (await readAll(io.stdin)).replace(/\r?\n$/, "");
}

function credits(micros: number): string {
  return String(micros / 1_000_000);
}
