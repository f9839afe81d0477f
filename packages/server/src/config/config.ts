import { z } from "zod";
import { resolveSecret, SecretConfigError } from "./secret.js";
import { loadUpstreams, type UpstreamConfig, UpstreamConfigError } from "./upstreams.js";

/** How new accounts come to be: anyone may sign up, or only an operator creates them. */
export type SignupMode = "open" | "closed";

/** Everything the server needs to know, parsed once at start-up and frozen. */
export interface KeyportConfig {
  readonly port: number;
  readonly host: string;
  /** A SQLite file path, `:memory:`, or a `postgres://` URL. */
  readonly database: string;
  /** The origin users reach the server at; decides cookie names and absolute links. */
  readonly publicUrl: string;
  readonly signup: SignupMode;
  /**
   * The first account signed up on an empty database becomes an admin (`--first-user-admin`);
   * off by default, so an open server never hands a stranger the admin pages.
   */
  readonly firstUserAdmin: boolean;
  /** Trust `X-Forwarded-For` for the client address (only behind a proxy you run). */
  readonly trustProxy: boolean;
  /** Per client address and minute. */
  readonly rateLimits: Readonly<{
    exchange: number;
    signIn: number;
    signUp: number;
    /** Password-reset requests, per client address and per email. */
    passwordReset: number;
  }>;
  /**
   * Where password-reset mail goes out (`KEYPORT_SMTP_URL`, or `KEYPORT_SMTP_HOST` and friends);
   * `undefined`: no mail, the forgot-password page explains the operator's reset instead. Not
   * enumerable, as it may carry the SMTP password.
   */
  readonly smtp: SmtpSettings | undefined;
  /** When set, `callback_url` must start with one of these (narrows DESIGN invariant 4). */
  readonly allowedCallbackPrefixes: readonly string[];
  /** Refuse any authorization without an S256 `code_challenge` (`plain` and none included). */
  readonly requireS256: boolean;
  /** A client must send its request headers within this long (Node's `headersTimeout`). */
  readonly headersTimeoutMs: number;
  /**
   * A client must send its whole request, body included, within this long (Node's
   * `requestTimeout`); the answer, a stream included, is not bound by it.
   */
  readonly requestTimeoutMs: number;
  /** How long a shutdown waits for in-flight requests before it closes their connections. */
  readonly shutdownGraceMs: number;
  /**
   * The signing secret from `KEYPORT_SECRET` or `KEYPORT_SECRET_FILE`; `undefined`: generated
   * and kept in the database. Not enumerable, so printing the config does not show it.
   */
  readonly secret: string | undefined;
  /** The file the secret came from (its permissions are checked at start). */
  readonly secretFile: string | undefined;
  /**
   * The least time between showing the consent page and accepting its Authorize, so a
   * double-click that a hostile page turns into a click on Authorize never approves.
   */
  readonly consentDelayMs: number;
  /** The chat-completions gateway. */
  readonly gateway: GatewayConfig;
  /**
   * Redis for the rate-limit counters every instance shares (`redis://…`); unset, they live in
   * PostgreSQL when the database is one, else in memory (one server per SQLite file).
   */
  readonly redisUrl: string | undefined;
  /** Prefix of Keyport's Redis keys, so several deployments can share one Redis. */
  readonly redisPrefix: string;
  /** The least severe request-log lines `keyport serve` writes to stdout (`silent`: none). */
  readonly logLevel: LogLevel;
  /** Operational metrics (Prometheus text format). */
  readonly metrics: MetricsConfig;
}

/** pino's levels, and `silent`. */
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** Where `GET /metrics` is served; see README "Operate". */
interface MetricsConfig {
  /** A listener of its own for `/metrics` only; `undefined`: none. */
  readonly port: number | undefined;
  /** Its address: loopback unless an operator opens it. */
  readonly host: string;
  /**
   * A bearer token: when set, `/metrics` on the main port answers with it (and the metrics
   * port asks for it too); unset, the main port has no `/metrics` (404).
   */
  readonly token: string | undefined;
}

/** How to reach the SMTP server that sends password-reset mail. */
export interface SmtpSettings {
  /** `smtp://user:pass@host:587` or `smtps://…:465`; wins over the separate fields. */
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
  readonly user?: string;
  readonly pass?: string;
  /** The `From` address, e.g. `Keyport <keyport@example.com>`. */
  readonly from: string;
}

/** How the gateway forwards, meters and keeps streams alive. */
interface GatewayConfig {
  /** Providers to forward to (`--upstreams FILE`); `keyport/echo` is always served besides. */
  readonly upstreams: readonly UpstreamConfig[];
  /** A `: KEYPORT PROCESSING` comment goes out after this long without upstream bytes. */
  readonly keepAliveMs: number;
  /** Longest wait for the upstream's answer, and longest silence mid-stream; then `408`. */
  readonly upstreamTimeoutMs: number;
  /** Largest chat-completions request body. */
  readonly maxBodyBytes: number;
  /** Worst-case completion tokens when neither the request nor the model sets a maximum. */
  readonly defaultMaxTokens: number;
  /**
   * Worst-case prompt tokens of one non-text content part (`image_url`, `input_audio`, `file`,
   * …) on top of the body's bytes: such parts cost far more tokens than their bytes.
   */
  readonly nonTextPartTokens: number;
  /** Chat requests per key and minute (`0`: unlimited). */
  readonly rateLimit: number;
  /** Chat requests one key may have in flight at once, per instance (`0`: unlimited). */
  readonly maxInFlightPerKey: number;
  /**
   * How long a reservation's lease lasts unless renewed: live requests renew theirs (recording
   * what they delivered) every sixth of it, and expired ones are swept every third, so a crashed
   * instance's reservations come back within about `leaseMs × 4/3`.
   */
  readonly leaseMs: number;
  /** Pause between the words `keyport/echo` streams (a demo that looks like a model). */
  readonly echoDelayMs: number;
}

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().min(1);
const onOff = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0"])])
  .default(false)
  .transform((value) => value === true || value === "true" || value === "1");

const schema = z
  .object({
    port: port.default(8787),
    host: z.string().min(1).default("127.0.0.1"),
    database: z.string().min(1).default(".keyport/keyport.sqlite"),
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
    signup: z.enum(["open", "closed"]).default("open"),
    trustProxy: onOff,
    firstUserAdmin: onOff,
    requireS256: onOff,
    headersTimeoutMs: positive.default(10_000),
    requestTimeoutMs: positive.default(30_000),
    exchangeRateLimit: positive.default(60),
    signInRateLimit: positive.default(10),
    signUpRateLimit: positive.default(5),
    passwordResetRateLimit: positive.default(5),
    smtpUrl: z.url({ protocol: /^smtps?$/ }).optional(),
    smtpHost: z.string().min(1).optional(),
    smtpPort: port.optional(),
    smtpUser: z.string().optional(),
    smtpPass: z.string().optional(),
    smtpFrom: z.string().min(3).optional(),
    allowedCallbacks: z
      .string()
      .default("")
      .refine(
        (list) =>
          list
            .split(",")
            .map((prefix) => prefix.trim())
            .filter(Boolean)
            .every((prefix) => URL.canParse(prefix)),
        "each entry must be an absolute URL, e.g. https://app.example/callback",
      ),
    upstreams: z.string().default(""),
    keepAliveMs: positive.default(10_000),
    upstreamTimeoutMs: positive.default(120_000),
    gatewayMaxBodyBytes: positive.default(4 * 1024 * 1024),
    defaultMaxTokens: positive.default(4096),
    nonTextPartTokens: positive.default(10_000),
    gatewayRateLimit: z.coerce.number().int().min(0).default(600),
    gatewayMaxInFlight: z.coerce.number().int().min(0).default(20),
    leaseMs: z.coerce.number().int().min(300).max(3_600_000).default(30_000),
    echoDelayMs: z.coerce.number().int().min(0).default(20),
    shutdownGraceMs: z.coerce.number().int().min(0).default(10_000),
    secret: z.string().optional(),
    secretFile: z.string().optional(),
    consentDelayMs: z.coerce.number().int().min(0).max(10_000).default(1000),
    redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
    redisPrefix: z.string().min(1).default("keyport:"),
    logLevel: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
    metricsPort: port.optional(),
    metricsHost: z.string().min(1).default("127.0.0.1"),
    metricsToken: z.string().min(16, "must be at least 16 characters").optional(),
  })
  // Node cuts a request at `requestTimeout` whatever `headersTimeout` says.
  .refine((v) => v.headersTimeoutMs <= v.requestTimeoutMs, {
    path: ["headersTimeoutMs"],
    message: "must not be longer than --request-timeout-ms",
  });

/** Raw option values, as flags or environment variables give them (strings or typed values). */
export type ConfigInput = { [K in keyof z.input<typeof schema>]?: z.input<typeof schema>[K] };

const envNames: Record<keyof ConfigInput, string> = {
  port: "KEYPORT_PORT",
  host: "KEYPORT_HOST",
  database: "KEYPORT_DATABASE",
  publicUrl: "KEYPORT_PUBLIC_URL",
  signup: "KEYPORT_SIGNUP",
  trustProxy: "KEYPORT_TRUST_PROXY",
  firstUserAdmin: "KEYPORT_FIRST_USER_ADMIN",
  requireS256: "KEYPORT_REQUIRE_S256",
  headersTimeoutMs: "KEYPORT_HEADERS_TIMEOUT_MS",
  requestTimeoutMs: "KEYPORT_REQUEST_TIMEOUT_MS",
  exchangeRateLimit: "KEYPORT_EXCHANGE_RATE_LIMIT",
  signInRateLimit: "KEYPORT_SIGNIN_RATE_LIMIT",
  signUpRateLimit: "KEYPORT_SIGNUP_RATE_LIMIT",
  passwordResetRateLimit: "KEYPORT_PASSWORD_RESET_RATE_LIMIT",
  smtpUrl: "KEYPORT_SMTP_URL",
  smtpHost: "KEYPORT_SMTP_HOST",
  smtpPort: "KEYPORT_SMTP_PORT",
  smtpUser: "KEYPORT_SMTP_USER",
  smtpPass: "KEYPORT_SMTP_PASS",
  smtpFrom: "KEYPORT_SMTP_FROM",
  allowedCallbacks: "KEYPORT_ALLOWED_CALLBACKS",
  upstreams: "KEYPORT_UPSTREAMS",
  keepAliveMs: "KEYPORT_KEEPALIVE_MS",
  upstreamTimeoutMs: "KEYPORT_UPSTREAM_TIMEOUT_MS",
  gatewayMaxBodyBytes: "KEYPORT_GATEWAY_MAX_BODY_BYTES",
  defaultMaxTokens: "KEYPORT_DEFAULT_MAX_TOKENS",
  nonTextPartTokens: "KEYPORT_NON_TEXT_PART_TOKENS",
  gatewayRateLimit: "KEYPORT_GATEWAY_RATE_LIMIT",
  gatewayMaxInFlight: "KEYPORT_GATEWAY_MAX_IN_FLIGHT",
  leaseMs: "KEYPORT_LEASE_MS",
  echoDelayMs: "KEYPORT_ECHO_DELAY_MS",
  shutdownGraceMs: "KEYPORT_SHUTDOWN_GRACE_MS",
  secret: "KEYPORT_SECRET",
  secretFile: "KEYPORT_SECRET_FILE",
  consentDelayMs: "KEYPORT_CONSENT_DELAY_MS",
  redisUrl: "KEYPORT_REDIS_URL",
  redisPrefix: "KEYPORT_REDIS_PREFIX",
  logLevel: "KEYPORT_LOG_LEVEL",
  metricsPort: "KEYPORT_METRICS_PORT",
  metricsHost: "KEYPORT_METRICS_HOST",
  metricsToken: "KEYPORT_METRICS_TOKEN",
};

/** Thrown when flags or environment hold a value the server cannot run with. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Builds the frozen configuration from explicit options, falling back to `KEYPORT_*` variables
 * of the given environment, then to the embedded defaults.
 *
 * @example
 * const config = parseConfig({ port: "8787" }, process.env);
 */
export function parseConfig(
  options: ConfigInput = {},
  env: Readonly<Record<string, string | undefined>> = {},
): KeyportConfig {
  const merged: Record<string, unknown> = {};
  for (const [name, envName] of Object.entries(envNames)) {
    const value = options[name as keyof ConfigInput] ?? env[envName];
    if (value !== undefined && value !== "") merged[name] = value;
  }
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? "");
    const flag = `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new ConfigError(
      `Invalid ${flag} (${envNames[name as keyof ConfigInput] ?? ""}): ${issue?.message}`,
    );
  }
  const v = parsed.data;
  let upstreams: readonly UpstreamConfig[] = [];
  try {
    if (v.upstreams) upstreams = loadUpstreams(v.upstreams, env);
  } catch (error) {
    if (error instanceof UpstreamConfigError) {
      throw new ConfigError(`Invalid --upstreams (KEYPORT_UPSTREAMS): ${error.message}`);
    }
    throw error;
  }
  let secret: ReturnType<typeof resolveSecret>;
  try {
    secret = resolveSecret(v.secret, v.secretFile);
  } catch (error) {
    if (!(error instanceof SecretConfigError)) throw error;
    throw new ConfigError(`Invalid ${envNames[error.setting]}: ${error.message}`);
  }
  const publicUrl = (v.publicUrl ?? `http://${urlHost(v.host)}:${v.port}`).replace(/\/+$/, "");
  const config = {
    port: v.port,
    host: v.host,
    database: v.database,
    publicUrl,
    signup: v.signup,
    firstUserAdmin: v.firstUserAdmin,
    trustProxy: v.trustProxy,
    rateLimits: Object.freeze({
      exchange: v.exchangeRateLimit,
      signIn: v.signInRateLimit,
      signUp: v.signUpRateLimit,
      passwordReset: v.passwordResetRateLimit,
    }),
    allowedCallbackPrefixes: Object.freeze(
      v.allowedCallbacks
        .split(",")
        .map((prefix) => prefix.trim())
        .filter(Boolean),
    ),
    requireS256: v.requireS256,
    headersTimeoutMs: v.headersTimeoutMs,
    requestTimeoutMs: v.requestTimeoutMs,
    shutdownGraceMs: v.shutdownGraceMs,
    consentDelayMs: v.consentDelayMs,
    gateway: Object.freeze({
      upstreams,
      keepAliveMs: v.keepAliveMs,
      upstreamTimeoutMs: v.upstreamTimeoutMs,
      maxBodyBytes: v.gatewayMaxBodyBytes,
      defaultMaxTokens: v.defaultMaxTokens,
      nonTextPartTokens: v.nonTextPartTokens,
      rateLimit: v.gatewayRateLimit,
      maxInFlightPerKey: v.gatewayMaxInFlight,
      leaseMs: v.leaseMs,
      echoDelayMs: v.echoDelayMs,
    }),
    secretFile: secret.secretFile,
    redisUrl: v.redisUrl,
    redisPrefix: v.redisPrefix,
    logLevel: v.logLevel,
    metrics: Object.freeze({ port: v.metricsPort, host: v.metricsHost, token: v.metricsToken }),
  };
  // Kept off the enumerable fields: a logged or serialised config does not carry the secret.
  Object.defineProperty(config, "secret", { value: secret.secret, enumerable: false });
  Object.defineProperty(config, "smtp", { value: smtpSettings(v, publicUrl), enumerable: false });
  return Object.freeze(
    config as typeof config & { secret: string | undefined; smtp: SmtpSettings | undefined },
  );
}

/** Loopback and wildcard binds are reached as `localhost`, the name browsers treat as secure. */
function urlHost(host: string): string {
  if (["0.0.0.0", "::", "127.0.0.1", "::1"].includes(host)) return "localhost";
  return host.includes(":") ? `[${host}]` : host;
}

/** SMTP settings when a URL or host is given; the sender defaults to the public URL's host. */
function smtpSettings(
  v: Pick<
    z.output<typeof schema>,
    "smtpUrl" | "smtpHost" | "smtpPort" | "smtpUser" | "smtpPass" | "smtpFrom"
  >,
  publicUrl: string,
): SmtpSettings | undefined {
  if (!v.smtpUrl && !v.smtpHost) return undefined;
  return Object.freeze({
    url: v.smtpUrl,
    host: v.smtpHost,
    port: v.smtpPort,
    user: v.smtpUser,
    pass: v.smtpPass,
    from: v.smtpFrom ?? `Keyport <keyport@${new URL(publicUrl).hostname}>`,
  });
}
