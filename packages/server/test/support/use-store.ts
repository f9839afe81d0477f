import { afterAll, beforeAll } from "vitest";
import { openStore, type Store } from "../../src/index.js";
import type { Dialect, TestDatabase } from "./databases.js";

/** A suite's store, valid once the suite's set-up ran. */
export interface StoreFixture {
  readonly store: Store;
  readonly database: TestDatabase;
  /** Closes the store, runs `meanwhile` (e.g. a server on the same database), then opens it again. */
  reopen(meanwhile?: () => Promise<void>): Promise<void>;
}

/**
 * Registers, for the enclosing `describe`, a store on a fresh database of `dialect`: opened
 * before its tests, closed (database dropped) after them.
 * @example
 * describe.each(dialects)("leases ($name)", (dialect) => {
 *   const opened = useStore(dialect);
 *   it("…", async () => opened.store.findKey(hash));
 * });
 */
export function useStore(dialect: Dialect): StoreFixture {
  let database: TestDatabase | undefined;
  let store: Store | undefined;
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined)
      throw new Error("useStore: the store opens in beforeAll; use it in a test");
    return value;
  };
  beforeAll(async () => {
    database = await dialect.fresh();
    store = await openStore(database.url);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });
  return {
    get store() {
      return ready(store);
    },
    get database() {
      return ready(database);
    },
    async reopen(meanwhile) {
      await ready(store).close();
      store = undefined;
      await meanwhile?.();
      store = await openStore(ready(database).url);
    },
  };
}
