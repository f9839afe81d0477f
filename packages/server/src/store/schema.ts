import type { Generated } from "kysely";

/** Timestamps are integer milliseconds since the epoch (UTC) in every dialect. */
type Millis = number;

/** Accounts; `email` is unique and stored lower-cased. */
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  created_at: Millis;
  /** 1 for operators (the admin pages and their CLI twins). */
  is_admin: Generated<number>;
  /** When an operator disabled the account: it cannot sign in, its keys stop. */
  disabled_at: Generated<Millis | null>;
  /** What all the account's keys may spend together, ever; `null`: no account cap. */
  credit_micros: Generated<number | null>;
}

/** Signed-in browser sessions, by the SHA-256 of their cookie value. */
interface SessionsTable {
  id_hash: string;
  user_id: string;
  created_at: Millis;
  expires_at: Millis;
}

/** Authorization codes, by their SHA-256; consumed once, kept a day past expiry. */
export interface CodesTable {
  code_hash: string;
  user_id: string;
  code_challenge: string | null;
  code_challenge_method: string | null;
  callback_url: string | null;
  key_label: string;
  limit_micros: number | null;
  limit_reset: string | null;
  key_expires_at: Millis | null;
  created_at: Millis;
  expires_at: Millis;
  consumed_at: Millis | null;
  replayed_at: Millis | null;
  key_hash: string | null;
  /** Headless codes: SHA-256 of the short user code shown in place of the code. */
  user_code_hash: Generated<string | null>;
  /** Wrong user codes sent with this code's verifier; the code burns at the limit. */
  user_code_misses: Generated<number>;
}

/** API keys, by the SHA-256 of the key; credits in micro-credits. */
export interface KeysTable {
  hash: string;
  user_id: string;
  label: string;
  limit_micros: number | null;
  limit_reset: string | null;
  usage_micros: Generated<number>;
  is_management: Generated<number>;
  disabled: Generated<number>;
  expires_at: Millis | null;
  created_at: Millis;
  revoked_at: Millis | null;
  reserved_micros: Generated<number>;
  day_start: Generated<Millis>;
  day_micros: Generated<number>;
  week_start: Generated<Millis>;
  week_micros: Generated<number>;
  month_start: Generated<Millis>;
  month_micros: Generated<number>;
  /** How the key was made (`KeyCreator`); `null` before origins were recorded. */
  created_via: Generated<string | null>;
  /** The app's callback origin, for keys an app got through the PKCE flow. */
  app_origin: Generated<string | null>;
}

/** Password-reset links, by the SHA-256 of their token; each is used once. */
interface PasswordResetsTable {
  token_hash: string;
  user_id: string;
  created_at: Millis;
  expires_at: Millis;
  used_at: Millis | null;
}

/**
 * A reservation's lease: held until its request settles or the lease expires (its instance died).
 * On PostgreSQL every reservation has one; on SQLite only streams that checkpointed.
 */
interface ReservationsTable {
  id: string;
  key_hash: string;
  micros: number;
  expires_at: Millis;
  /** What the request had delivered at its last checkpoint: billed should its instance die. */
  checkpoint_micros: Generated<number>;
  model: Generated<string>;
  upstream: Generated<string>;
  streamed: Generated<number>;
  created_at: Generated<Millis>;
}

/** One metered chat completion. */
export interface RequestsTable {
  id: string;
  key_hash: string;
  model: string;
  upstream: string;
  streamed: number;
  status: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micros: number;
  /** What the upstream's report exceeded the reservation by: the operator's, not the key's. */
  overrun_micros: Generated<number>;
  usage_estimated: number;
  duration_ms: number;
  created_at: Millis;
  /** The `id` the client got (the upstream's completion id); `null` before it was known. */
  completion_id: string | null;
  finish_reason: string | null;
  /** Until the upstream's answer began (its response headers), in ms. */
  latency_ms: number | null;
  /** `completions` (chat and legacy), `embeddings` or `responses`. */
  api_type: string | null;
  /** The app's attribution headers (`HTTP-Referer`, `X-Title`), sanitized. */
  http_referer: string | null;
  app_title: string | null;
}

/** Named server secrets (the CSRF secret). */
interface SettingsTable {
  name: string;
  value: string;
}

/** The database as Kysely sees it. */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  codes: CodesTable;
  keys: KeysTable;
  settings: SettingsTable;
  requests: RequestsTable;
  reservations: ReservationsTable;
  password_resets: PasswordResetsTable;
}
