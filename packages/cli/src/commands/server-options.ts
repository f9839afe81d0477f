import type { ConfigInput } from "@keyport/server";
import { columns } from "../help.js";

/** The flags every command that runs or opens the server shares. */
export const serverOptions = {
  port: { type: "string" },
  host: { type: "string" },
  database: { type: "string" },
  "public-url": { type: "string" },
  signup: { type: "string" },
  "trust-proxy": { type: "boolean" },
  "first-user-admin": { type: "boolean" },
  "allowed-callbacks": { type: "string" },
  upstreams: { type: "string" },
  "require-s256": { type: "boolean" },
  "headers-timeout-ms": { type: "string" },
  "request-timeout-ms": { type: "string" },
  "metrics-port": { type: "string" },
} as const;

/** The flags' help rows, for `columns()`. */
export const serverOptionsRows: readonly (readonly [string, string])[] = [
  ["--port N", "port to listen on (KEYPORT_PORT, default 8787)"],
  ["--host ADDR", "address to bind (KEYPORT_HOST, default 127.0.0.1)"],
  [
    "--database PATH|URL",
    "SQLite file or postgres:// URL (KEYPORT_DATABASE, default .keyport/keyport.sqlite)",
  ],
  ["--public-url URL", "the URL users reach the server at (KEYPORT_PUBLIC_URL)"],
  ["--signup open|closed", "whether anyone may sign up (KEYPORT_SIGNUP, default open)"],
  ["--trust-proxy", "take the client address from X-Forwarded-For (KEYPORT_TRUST_PROXY)"],
  ["--first-user-admin", "the first account signed up becomes an admin (KEYPORT_FIRST_USER_ADMIN)"],
  [
    "--allowed-callbacks PREFIXES",
    "comma-separated callback_url prefixes apps may use (KEYPORT_ALLOWED_CALLBACKS)",
  ],
  ["--upstreams FILE|JSON", "OpenAI-compatible upstreams for the gateway (KEYPORT_UPSTREAMS)"],
  [
    "--require-s256",
    "refuse any authorization without a S256 code_challenge (KEYPORT_REQUIRE_S256)",
  ],
  [
    "--headers-timeout-ms N",
    "time a client has to send its request headers\n(KEYPORT_HEADERS_TIMEOUT_MS, default 10000)",
  ],
  [
    "--request-timeout-ms N",
    "time a client has to send its whole request\n(KEYPORT_REQUEST_TIMEOUT_MS, default 30000)",
  ],
  [
    "--metrics-port N",
    "serve GET /metrics (Prometheus) on this port of KEYPORT_METRICS_HOST\n(KEYPORT_METRICS_PORT; default none, host 127.0.0.1)",
  ],
];

/** The flags' help lines, aligned. */
export const serverOptionsHelp = columns(serverOptionsRows);

/** Flag values to `parseConfig` input (flags win over environment variables). */
export function configInput(values: Record<string, unknown>): ConfigInput {
  return {
    port: values.port as string | undefined,
    host: values.host as string | undefined,
    database: values.database as string | undefined,
    publicUrl: values["public-url"] as string | undefined,
    signup: values.signup as ConfigInput["signup"],
    trustProxy: values["trust-proxy"] as boolean | undefined,
    firstUserAdmin: values["first-user-admin"] as boolean | undefined,
    allowedCallbacks: values["allowed-callbacks"] as string | undefined,
    upstreams: values.upstreams as string | undefined,
    requireS256: values["require-s256"] as boolean | undefined,
    headersTimeoutMs: values["headers-timeout-ms"] as string | undefined,
    requestTimeoutMs: values["request-timeout-ms"] as string | undefined,
    metricsPort: values["metrics-port"] as string | undefined,
  };
}
