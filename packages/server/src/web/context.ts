import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { KeyportConfig } from "../config/config.js";
import type { Store, User } from "../store/store.js";
import type { Metrics } from "./metrics.js";
import type { RateLimits } from "./rate-limit.js";

/** What every handler is built from. */
export interface AppDeps {
  readonly config: KeyportConfig;
  readonly store: Store;
  readonly clock: Clock;
  /** The server secret CSRF tokens are derived from. */
  readonly secret: string;
  /** Where rate limits count; in this process's memory when absent. */
  readonly rateLimits?: RateLimits;
  /** Where a JSON line per request goes (pino); no request log when absent. */
  readonly logger?: Logger;
  /** Where requests, exchanges, spend and upstream errors are counted; uncounted when absent. */
  readonly metrics?: Metrics;
}

/** The browser session a request carries: a cookie value always, a user once signed in. */
interface BrowserSession {
  readonly cookieValue: string;
  readonly user?: User;
}

/** Hono's environment for the Keyport app. */
export interface AppEnv {
  Variables: {
    session: BrowserSession;
    /** Extra CSP `form-action` sources for this response. */
    formActions?: string[];
    /**
     * Set by the authorization request's handlers: an error page then says nothing was
     * shared with the app (true before any code is issued, and for a denial).
     */
    nothingShared?: boolean;
    /** This request's id (`X-Request-Id`): the client's when sane, else generated. */
    requestId: string;
    /** Whether {@link requestId} came from the client (so it is no unique id to store). */
    requestIdFromClient: boolean;
    /** The SHA-256 of the key the request authenticated with (logs show a prefix). */
    keyHash?: string;
  };
}
