import type { FetchLike } from "../platform.js";

/**
 * The browser objects the helpers touch, injectable for tests and for non-window contexts.
 * Each defaults to the global of the same name.
 */
export interface BrowserEnvironment {
  /** Where the PKCE verifier waits for the callback. Default `sessionStorage`. */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem">;
  /** Default `location`. */
  location?: Pick<Location, "href" | "origin" | "pathname" | "search" | "hash" | "assign">;
  /** Used to remove the callback parameters from the address bar. Default `history`. */
  history?: Pick<History, "state" | "replaceState">;
  /** Replaces the platform `fetch` for the code exchange. */
  fetch?: FetchLike;
}

/** The injected browser objects, or the page's own where none were given. */
export function resolveEnvironment(options: BrowserEnvironment) {
  return {
    storage: options.storage ?? sessionStorage,
    location: options.location ?? location,
    history: options.history ?? history,
  };
}
