import type { KeyAdmission } from "./store.js";

/** How long an admission read from the database serves again: well under a second. */
export const RECENT_KEY_MS = 500;
/** Keys held at most; past it the oldest go first. Unknown keys are never held. */
const MAX_RECENT_KEYS = 10_000;

interface Recent {
  readonly key: KeyAdmission;
  readonly readAt: number;
}

/**
 * Key admissions read in the last {@link RECENT_KEY_MS}, so a busy key's gateway calls skip the
 * look-up (on SQLite, a read transaction of its own for each call). Safe because nothing money
 * depends on is taken from here: the reservation's conditional UPDATE checks revocation, the
 * key's and its account's disabled flags, the limit and the account credit again, at the moment
 * it holds the budget. A change made through this store forgets every entry at once; one made by
 * another process (the CLI beside the server) shows within {@link RECENT_KEY_MS}.
 */
export class RecentKeys {
  private readonly entries = new Map<string, Recent>();
  /** Moves on each change, so a read begun before a change is not kept after it. */
  private generation = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The admission of `hash`: a recent one, else `load`'s (kept when the key exists). */
  async read(
    hash: string,
    load: (hash: string) => Promise<KeyAdmission | undefined>,
  ): Promise<KeyAdmission | undefined> {
    const recent = this.entries.get(hash);
    if (recent && this.now() - recent.readAt < RECENT_KEY_MS) return recent.key;
    const generation = this.generation;
    const readAt = this.now();
    const key = await load(hash);
    if (!key || generation !== this.generation) {
      this.entries.delete(hash);
      return key;
    }
    this.entries.delete(hash);
    if (this.entries.size >= MAX_RECENT_KEYS) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(hash, { key, readAt });
    return key;
  }

  /** A key or an account changed: nothing held before serves again. */
  forgetAll(): void {
    this.generation += 1;
    this.entries.clear();
  }
}
