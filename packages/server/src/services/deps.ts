import type { Clock } from "../clock.js";
import type { Store } from "../store/store.js";

/** What a use case needs: the store and the clock, from the server's `AppDeps` or the CLI. */
export interface ServiceDeps {
  readonly store: Store;
  readonly clock: Clock;
}
