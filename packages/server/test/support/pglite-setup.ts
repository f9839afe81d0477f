import type { TestProject } from "vitest/node";
import { startPgliteBroker } from "./pglite-broker.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The PGlite broker's URL; empty when `KEYPORT_TEST_POSTGRES_URL` names a real server. */
    pgliteBroker: string;
  }
}

/**
 * vitest global setup: without `KEYPORT_TEST_POSTGRES_URL`, the PostgreSQL dialect runs on
 * in-process PGlite lent out by one broker for the whole run (see `pglite-broker.ts`).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.KEYPORT_TEST_POSTGRES_URL) {
    project.provide("pgliteBroker", "");
    return async () => {};
  }
  const broker = await startPgliteBroker();
  project.provide("pgliteBroker", broker.url);
  return () => broker.close();
}
