import type { Command } from "./command.js";

/** One entry of `keyport --help`: what the command does, and how to load it when it runs. */
interface CatalogEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/**
 * Every `keyport` subcommand. Each module is imported only when its command runs, so
 * `keyport --help` starts without loading the server, its database drivers or argon2.
 */
export const catalog: Readonly<Record<string, CatalogEntry>> = {
  serve: {
    summary: "run the Keyport server",
    load: async () => (await import("./commands/serve.js")).serveCommand,
  },
  users: {
    summary: "manage accounts (users create|list|disable|enable|set-credit|set-password)",
    load: async () => (await import("./commands/users.js")).usersCommand,
  },
  keys: {
    summary: "administer keys (keys create-management|list|revoke)",
    load: async () => (await import("./commands/keys.js")).keysCommand,
  },
  requests: {
    summary: "inspect metered requests (requests overruns)",
    load: async () => (await import("./commands/requests.js")).requestsCommand,
  },
  backup: {
    summary: "copy the SQLite database to a file, safe while serving (backup FILE)",
    load: async () => (await import("./commands/backup.js")).backupCommand,
  },
  migrate: {
    summary: "bring the database schema up to date and exit",
    load: async () => (await import("./commands/migrate.js")).migrateCommand,
  },
  demo: {
    summary: "run the server and the example third-party app (what `npm start` runs)",
    load: async () => (await import("./commands/demo.js")).demoCommand,
  },
  login: {
    summary: "get an API key in your browser and save it (--headless over SSH)",
    load: async () => (await import("./commands/login.js")).loginCommand,
  },
  whoami: {
    summary: "show the saved key's label, usage, limit and expiry",
    load: async () => (await import("./commands/whoami.js")).whoamiCommand,
  },
  logout: {
    summary: "forget the saved key",
    load: async () => (await import("./commands/logout.js")).logoutCommand,
  },
};
