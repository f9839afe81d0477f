export { createApp } from "./app.js";
export { type Clock, systemClock } from "./clock.js";
export {
  ConfigError,
  type ConfigInput,
  type KeyportConfig,
  type LogLevel,
  parseConfig,
  type SignupMode,
} from "./config/config.js";
export { keyView } from "./http/key-view.js";
export { stdoutLogger } from "./node/logger.js";
export { type RunningServer, type StartOptions, startServer } from "./node/start.js";
export { accountProblem, createAccount, normalizeEmail } from "./services/accounts.js";
export {
  AdminInputError,
  findAccount,
  listAccounts,
  parseCredit,
  resetPassword,
  setAccountCredit,
  setAccountDisabled,
  type UsersPage,
} from "./services/admin-users.js";
export { type IssuedKey, issueKey, type KeyRequest } from "./services/issue-key.js";
export { BackupError, backupDatabase } from "./store/backup.js";
export { migrateDatabase, openStore } from "./store/open.js";
export type { RequestRecord, Store, StoredKey, User, UserSummary } from "./store/store.js";
export type { AppDeps } from "./web/context.js";
