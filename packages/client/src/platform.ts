/**
 * The few platform features the core uses, described structurally so that the core type-checks
 * with neither DOM nor Node types (`tsconfig.core.json`) and declares no globals of its own:
 * consumers' type environments stay untouched.
 */

/** What the core reads from a `fetch` response. The platform `Response` satisfies it. */
export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

interface MinimalAbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
}

/**
 * The platform's `AbortSignal` wherever the consumer's types declare one (DOM, Node), so the
 * platform `fetch` stays assignable to {@link FetchLike}; a structural minimum elsewhere.
 */
export type AbortSignalLike = typeof globalThis extends { AbortSignal: { prototype: infer S } }
  ? S
  : MinimalAbortSignal;

/** The request the core hands to {@link FetchLike}. */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignalLike;
}

/**
 * A `fetch` the core can call. The platform `fetch` satisfies it; inject your own to add
 * proxies, logging or an in-process server in tests.
 *
 * @example
 * ```ts
 * const fetch: FetchLike = (url, init) => app.request(url, init);
 * ```
 */
export type FetchLike = (url: string, init: FetchInit) => Promise<ResponseLike>;

interface Platform {
  crypto: {
    getRandomValues<T extends Uint8Array>(array: T): T;
    subtle: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> };
  };
  btoa(binary: string): string;
  fetch: FetchLike;
}

/** Read at call time, not import time, so runtimes and tests may install globals late. */
export const platform = globalThis as unknown as Platform;

/** base64url without padding (RFC 4648 §5), as PKCE requires (RFC 7636 Appendix A). */
export function base64url(bytes: Uint8Array): string {
  return platform
    .btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** `bytes` octets from the CSPRNG, base64url-encoded (32 octets = 256 bits = 43 characters). */
export function randomToken(bytes = 32): string {
  return base64url(platform.crypto.getRandomValues(new Uint8Array(bytes)));
}

/** String equality whose duration does not depend on where the strings differ. */
export function timingSafeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i % (b.length || 1));
  return diff === 0;
}
