import type { LimitReset, UsageCounters } from "../domain/credits.js";
import type { KeyOrigin } from "../domain/key-origin.js";
import type { CodeChallengeMethod } from "../domain/pkce.js";

/** What a new account is made of. */
export interface NewUser {
  readonly id: string;
  readonly email: string;
  readonly passwordHash: string;
  readonly createdAt: Date;
}

/** An account. */
export interface User extends NewUser {
  /** An operator: sees the admin pages. */
  readonly isAdmin: boolean;
  /** Set while an operator has the account disabled: no sign-in, no key works. */
  readonly disabledAt: Date | null;
  /** What all the account's keys may spend together, ever; `null` when uncapped. */
  readonly creditMicros: number | null;
}

/**
 * Whether a new account is an admin: `always` (`keyport users create --admin`), or `if-first`
 * (the operator lets the very first account be one: of any race of sign-ups on an empty
 * database exactly one gets it).
 */
export type AdminGrant = "never" | "always" | "if-first";

/** One account as the admin page lists it, with what it spent and how many keys it has. */
export interface UserSummary {
  readonly user: User;
  /** Everything its keys ever spent, revoked keys included. */
  readonly usageMicros: number;
  /** What its requests cost in the last 30 days. */
  readonly usage30dMicros: number;
  /** Its live (unrevoked) ordinary keys. */
  readonly liveKeys: number;
}

/** Which accounts the admin page lists: an email substring, a page of them, oldest first. */
export interface UserListing {
  readonly search?: string;
  readonly offset: number;
  readonly limit: number;
  /** The 30-day spend counts requests from this instant on. */
  readonly since: Date;
}

/** A signed-in browser session; only the SHA-256 of its id is stored. */
export interface Session {
  readonly idHash: string;
  readonly userId: string;
  readonly expiresAt: Date;
}

/** What the user approved on the consent page, waiting to be exchanged for a key. */
export interface NewCode {
  readonly codeHash: string;
  readonly userId: string;
  readonly codeChallenge: string | null;
  readonly codeChallengeMethod: CodeChallengeMethod | null;
  readonly callbackUrl: string | null;
  readonly keyLabel: string;
  readonly limitMicros: number | null;
  readonly limitReset: LimitReset | null;
  readonly keyExpiresAt: Date | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /**
   * Headless codes only: the hash of the short user code the page shows in place of the code
   * (see `domain/user-code.ts`).
   */
  readonly userCodeHash?: string | null;
}

/** A code as it was when it was consumed. */
export type StoredCode = NewCode;

/** What the exchange decides about a consumed code: mint a key on these terms, or refuse. */
export type Redemption<R> = { readonly terms: KeyTerms } | { readonly refusal: R };

/** A consumed code, and the refusal when no key was minted for it. */
export interface Redeemed<R> {
  readonly code: StoredCode;
  readonly refusal?: R;
}

/** What a key carries besides its hash. */
export interface NewKey {
  readonly hash: string;
  readonly userId: string;
  readonly label: string;
  readonly limitMicros: number | null;
  readonly limitReset: LimitReset | null;
  readonly expiresAt: Date | null;
  readonly createdAt: Date;
}

/** Everything about a new key but its hash. */
export type KeyTerms = Omit<NewKey, "hash">;

/** A key as stored. */
export interface StoredKey extends NewKey {
  readonly usageMicros: number;
  readonly isManagement: boolean;
  readonly disabled: boolean;
  readonly revokedAt: Date | null;
  /** Held by requests in flight (DESIGN invariant 8). */
  readonly reservedMicros: number;
  /** Usage per day, week and month; read them with `usageInWindows`. */
  readonly counters: UsageCounters;
  /** `findKey` only: an operator disabled the key's account, so the key must not work. */
  readonly ownerDisabled?: boolean;
  /** `findKey` only: the key's account has a credit, which caps all its keys together. */
  readonly ownerCapped?: boolean;
  /** How the key was made; `null` for keys made before Keyport recorded it. */
  readonly origin: KeyOrigin | null;
}

/** What admitting a gateway call reads of its key: no usage, since that changes with each call. */
export type KeyAdmission = Pick<
  StoredKey,
  | "hash"
  | "userId"
  | "limitMicros"
  | "expiresAt"
  | "isManagement"
  | "disabled"
  | "revokedAt"
  | "ownerDisabled"
  | "ownerCapped"
>;

/** A key to store as it is created by hand (management API, CLI) rather than by a code. */
export interface CreatedKey extends NewKey {
  readonly isManagement: boolean;
  /** How it was made; absent: not recorded (shown as unknown). */
  readonly origin?: KeyOrigin;
}

/** What the management API may change on a key; absent fields stay as they are. */
export interface KeyChanges {
  readonly label?: string;
  readonly disabled?: boolean;
  readonly limitMicros?: number | null;
  readonly limitReset?: LimitReset | null;
}

/** Which of a user's keys to list, oldest first. */
export interface KeyListing {
  readonly offset: number;
  readonly limit: number;
  readonly includeDisabled: boolean;
  /** Management keys are listed only when asked (the CLI does; the API does not). */
  readonly includeManagement: boolean;
}

/** Which API a metered request came through, as OpenRouter's generations name them. */
export type ApiType = "completions" | "embeddings" | "responses";

/** What a request record tells besides its bill: for `GET /api/v1/generation` and activity. */
export interface RequestDetails {
  /** The `id` the client got (the upstream's completion id). */
  readonly completionId: string | null;
  readonly finishReason: string | null;
  /** Until the upstream's answer began, in ms. */
  readonly latencyMs: number | null;
  readonly apiType: ApiType;
  /** The app's `HTTP-Referer`, sanitized. */
  readonly httpReferer: string | null;
  /** The app's `X-Title` (or `X-OpenRouter-Title`), sanitized. */
  readonly appTitle: string | null;
}

/** What one chat completion did and cost, as metered. */
export interface RequestRecord {
  readonly id: string;
  readonly keyHash: string;
  /** The model id the client asked for. */
  readonly model: string;
  /** The upstream's name (`keyport` for built-in models). */
  readonly upstream: string;
  readonly streamed: boolean;
  /** The HTTP status the client got (`499`: the client went away mid-stream). */
  readonly status: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** What the key was charged: the cost, never more than the reservation. */
  readonly costMicros: number;
  /** What the cost exceeded the reservation by: an upstream overrun, the operator's loss. */
  readonly overrunMicros: number;
  /** Tokens were estimated because the upstream reported no usage. */
  readonly usageEstimated: boolean;
  readonly durationMs: number;
  readonly createdAt: Date;
  /** Absent on records of requests that died with their instance. */
  readonly details?: Partial<RequestDetails>;
}

/** The end of a request: its reservation released, its real cost charged, its record kept. */
export interface Settlement {
  readonly reservedMicros: number;
  readonly record: RequestRecord;
  /** When it ended; decides the usage windows the cost counts in. */
  readonly settledAt: Date;
}

/** A reservation to make, and what its lease must know to bill its request should it die. */
export interface NewReservation {
  /** The request's record id. */
  readonly id: string;
  readonly keyHash: string;
  readonly micros: number;
  readonly model: string;
  readonly upstream: string;
  readonly streamed: boolean;
  /** Now: decides the limit window, and is the request record's creation time. */
  readonly createdAt: Date;
  /** Until when the lease holds unless renewed. */
  readonly leaseExpiresAt: Date;
  /** What is known of the request from the start (its API, its app), for its record. */
  readonly details?: Partial<RequestDetails>;
  /** The key's account has a credit: reservations across its keys must take turns. */
  readonly accountCapped?: boolean;
}

/** A live reservation's lease renewal: what its request has delivered so far. */
export interface LeaseCheckpoint {
  readonly reservation: NewReservation;
  /** Billed should the request's instance die before it settles (at most its reservation). */
  readonly deliveredMicros: number;
}

/** Which of an account's requests `GET /api/v1/activity` adds up. */
export interface ActivityFilter {
  /** From this instant (inclusive)… */
  readonly from: Date;
  /** …to this one (exclusive). */
  readonly to: Date;
  /** Only this key's requests. */
  readonly keyHash?: string;
}

/** An account's requests of one UTC day on one model, added up. */
export interface ActivityRow {
  /** The day's start (UTC midnight). */
  readonly day: Date;
  readonly model: string;
  readonly upstream: string;
  readonly requests: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly costMicros: number;
}

/** What a key's requests tell about it: its latest use and its spend since an instant. */
export interface KeyUse {
  readonly keyHash: string;
  readonly lastUsedAt: Date;
  readonly sinceMicros: number;
}

/** One key's requests on one model in one UTC day, added up (the dashboard's usage chart). */
export interface DailyKeyUsage {
  /** The day's start (UTC midnight). */
  readonly day: Date;
  readonly keyHash: string;
  readonly model: string;
  readonly requests: number;
  readonly costMicros: number;
}

/** A password-reset link: only the SHA-256 of its token is stored; it works once. */
export interface PasswordReset {
  readonly tokenHash: string;
  readonly userId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/**
 * The storage contract, shaped by what the domain needs. Each method is atomic on its own;
 * callers never compose reads and writes into a race.
 */
export interface Store {
  /** Creates an account (an admin as `admin` says); `undefined` when the email is taken. */
  createUser(user: NewUser, admin?: AdminGrant): Promise<User | undefined>;
  /** A page of accounts matching the listing, and how many match in all. */
  listUsers(listing: UserListing): Promise<{ users: UserSummary[]; total: number }>;
  /**
   * Disables (at `at`) or enables (`null`) an account. Disabling ends all its sessions in the
   * same transaction; its keys stop because the gateway and key API check the owner. Returns
   * the account as it now is, `undefined` when there is none.
   */
  setUserDisabled(userId: string, at: Date | null): Promise<User | undefined>;
  /** Sets (or, with `null`, removes) the account credit; the account, or `undefined`. */
  setUserCredit(userId: string, creditMicros: number | null): Promise<User | undefined>;
  /** Replaces the password hash and ends every session of the account; whether it exists. */
  setUserPassword(userId: string, passwordHash: string): Promise<boolean>;
  findUserByEmail(email: string): Promise<User | undefined>;
  findUserById(id: string): Promise<User | undefined>;

  createSession(session: Session & { createdAt: Date }): Promise<void>;
  /** The session if it exists and has not expired at `now`. */
  findSession(idHash: string, now: Date): Promise<Session | undefined>;
  deleteSession(idHash: string): Promise<void>;

  createCode(code: NewCode): Promise<void>;
  /**
   * Consumes an unconsumed code, recording `keyHash` as the key it mints, and in the same
   * transaction stores that key on the terms `decide` gives. When `decide` refuses (wrong
   * verifier, expired) the code stays consumed and no key exists, so a failed attempt burns the
   * code; the refusal comes back with the code. Of any number of concurrent calls exactly one
   * gets the code; `undefined` for unknown or already used codes.
   */
  redeemCode<R>(
    codeHash: string,
    keyHash: string,
    now: Date,
    decide: (code: StoredCode) => Redemption<R>,
  ): Promise<Redeemed<R> | undefined>;
  /**
   * Handles the replay of an already consumed code: when `provesPossession(code)` holds (the
   * replay carries the right verifier, or the code had no challenge), records the replay and
   * revokes the key the code minted (RFC 6749 §4.1.2), all in one transaction. A replay that
   * proves nothing changes nothing, so a leaked code alone cannot revoke its user's key.
   * Returns whether a consumed code was found and the replay proved possession of it.
   */
  revokeReplayedCode(
    codeHash: string,
    now: Date,
    provesPossession: (code: StoredCode) => boolean,
  ): Promise<boolean>;

  /**
   * The codes (their hashes and challenges) a short user code was shown for, consumed or not:
   * the exchange then redeems one like any code. Usually one; two only on a 40-bit collision.
   */
  findUserCode(userCodeHash: string): Promise<{ codeHash: string; codeChallenge: string | null }[]>;
  /**
   * Counts a wrong user code against the live headless code whose challenge is `codeChallenge`
   * (the caller proved the verifier), in one UPDATE; at `maxMisses` the code is consumed, so no
   * user code can redeem it any more. Returns whether such a code was found.
   */
  countUserCodeMiss(codeChallenge: string, now: Date, maxMisses: number): Promise<boolean>;

  findKey(hash: string): Promise<StoredKey | undefined>;
  /**
   * What the gateway admits a call by, possibly read a moment ago (`recent-keys.ts`): the
   * reservation checks everything money depends on again, so only the order of refusals can be
   * that old, never what a key may spend.
   */
  admitKey(hash: string): Promise<KeyAdmission | undefined>;
  /** Stores a key minted outside the code exchange. */
  createKey(key: CreatedKey): Promise<void>;
  /** A user's keys that are not revoked, oldest first (ties by hash, so pages are stable). */
  listKeys(userId: string, listing: KeyListing): Promise<StoredKey[]>;
  /**
   * Changes a live (unrevoked) ordinary key of `userId` in one UPDATE; `undefined` when there is
   * no such key, so another user's key looks exactly like a missing one.
   */
  updateKey(userId: string, hash: string, changes: KeyChanges): Promise<StoredKey | undefined>;
  /**
   * Revokes a live key, of `userId` only when given (the CLI revokes any key). Returns whether
   * a key was revoked by this call.
   */
  revokeKey(hash: string, now: Date, userId?: string): Promise<boolean>;

  /**
   * Holds `micros` against the key's limit in one conditional UPDATE: it succeeds only while the
   * key is live (not revoked or disabled) and its usage in the current limit window plus what is
   * already reserved plus `micros` stays within the limit. Concurrent calls cannot overspend.
   * On a shared database (PostgreSQL) the same statement also takes the reservation's lease.
   * Returns whether the reservation was made.
   */
  reserveBudget(reservation: NewReservation): Promise<boolean>;
  /**
   * Renews live reservations' leases until `expiresAt`, recording what each request has
   * delivered so far (on SQLite only leases with something delivered are written). Returns the
   * ids whose lease was already gone (expired by another instance).
   */
  renewLeases(checkpoints: readonly LeaseCheckpoint[], expiresAt: Date): Promise<string[]>;
  /**
   * Ends the leases past their expiry — reservations of requests that died with their instance:
   * each releases its reservation, bills what its request had delivered at its last checkpoint,
   * and leaves a request record (status `500`, estimated). Returns how many leases ended.
   */
  expireLeases(now: Date): Promise<number>;
  /**
   * In one transaction: releases the reservation, adds the real cost to the key's total and to
   * its day/week/month counters (restarting any whose window has rolled over), and stores the
   * request record. If the lease was already expired (its checkpoint billed), nothing more is
   * charged: the rest is recorded as overrun. A lone settle on SQLite is written at once;
   * others join the next group commit. Resolves once committed.
   */
  settleRequest(settlement: Settlement): Promise<void>;
  /** A key's most recent request records, newest first. */
  listRequests(keyHash: string, limit: number): Promise<RequestRecord[]>;
  /**
   * The newest request of one of `userId`'s keys whose completion id (or request id) is `id`;
   * `undefined` when there is none, another user's request included.
   */
  findGeneration(userId: string, id: string): Promise<RequestRecord | undefined>;
  /** Every key of the account, revoked and management keys included (for its total usage). */
  accountKeys(userId: string): Promise<StoredKey[]>;
  /** The account's requests per UTC day and model, oldest day first. */
  activity(userId: string, filter: ActivityFilter): Promise<ActivityRow[]>;
  /** For each key of the account that has requests: its latest use and its spend since `since`. */
  keyUse(userId: string, since: Date): Promise<KeyUse[]>;
  /** The account's requests per UTC day, key and model from `from` to `to` (exclusive). */
  dailyUsage(userId: string, from: Date, to: Date): Promise<DailyKeyUsage[]>;
  /** Revokes every live key an app (by its callback origin) got for the user; how many. */
  revokeAppKeys(userId: string, app: string, now: Date): Promise<number>;

  /**
   * Sets a user's password hash and, in the same transaction, ends every session of theirs but
   * `keepSession` (the id hash of the one that changed it).
   */
  setPassword(userId: string, passwordHash: string, keepSession?: string): Promise<void>;
  /** Ends every session of the user; how many there were. */
  endSessions(userId: string): Promise<number>;
  /**
   * Deletes the account in one transaction: its keys revoked, then its sessions, codes, resets,
   * keys and the user gone (request records stay, for the operator's books). Whether it existed.
   */
  deleteAccount(userId: string, now: Date): Promise<boolean>;
  createPasswordReset(reset: PasswordReset): Promise<void>;
  /** The reset if it is unused and unexpired at `now`. */
  findPasswordReset(tokenHash: string, now: Date): Promise<PasswordReset | undefined>;
  /**
   * Uses an unused, unexpired reset in one transaction: marks it (and the user's other resets)
   * used, sets the password hash and ends the user's sessions. Of concurrent calls exactly one
   * succeeds. Returns the user id, `undefined` when the link is unknown, used or expired.
   */
  usePasswordReset(tokenHash: string, now: Date, passwordHash: string): Promise<string | undefined>;

  /**
   * Deletes what can no longer be used: sessions past their expiry, and codes expired for longer
   * than `keepCodesMs` (kept that long so a late replay still revokes the key it minted).
   * Returns how many rows went.
   */
  deleteExpired(now: Date, keepCodesMs: number): Promise<number>;

  /**
   * Ends every lease as {@link expireLeases} does (billing each request's last checkpoint), then
   * releases every held reservation. Only for a start-up where no request can be in flight — one
   * process on a SQLite file — after a crash left reservations of requests that died with it.
   * Returns how many keys had some.
   */
  releaseReservations(now: Date): Promise<number>;
  /** Request records with an upstream overrun, newest first (for operators). */
  listOverruns(limit: number): Promise<RequestRecord[]>;

  /** Reads a named server secret, creating it with `create()` the first time (first writer wins). */
  secret(name: string, create: () => string): Promise<string>;

  /** Runs the cheapest query there is; rejects when the database does not answer. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
