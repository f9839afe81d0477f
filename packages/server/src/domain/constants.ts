/** Authorization codes live 10 minutes, as OpenRouter's do. */
export const CODE_LIFETIME_MS = 10 * 60_000;

/** The most credits a key's `limit` may be (the `/auth` parameter and the key-management API). */
export const MAX_CREDIT_LIMIT = 1_000_000_000;

/** The longest key label (`key_label` on `/auth`, `name` on the key-management API). */
export const MAX_KEY_LABEL = 100;

/** Keys per page of `GET /api/v1/keys`, which pages with `offset`. */
export const KEYS_PAGE_SIZE = 100;
