/** Requests to Keyport's pages and key endpoints are small; anything larger is refused. */
export const MAX_BODY_BYTES = 16 * 1024;
