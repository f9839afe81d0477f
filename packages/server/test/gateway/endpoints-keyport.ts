import { afterAll, beforeAll } from "vitest";
import type { RunningServer } from "../../src/index.js";
import type { Dialect, TestDatabase } from "../support/databases.js";
import {
  type EndpointsUpstream,
  endpointsUpstreams,
  startEndpointsUpstream,
} from "./endpoints-support.js";
import { type FakeUpstream, startKeyport, startUpstream } from "./support.js";

/** The running parts of {@link useEndpointsKeyport}, readable once its `beforeAll` has run. */
export interface EndpointsKeyport {
  readonly server: RunningServer;
  readonly upstream: EndpointsUpstream;
}

/**
 * Registers, for the enclosing `describe`, a Keyport on a fresh database of `dialect` with the
 * fake upstream and the loopback endpoints upstream (`upstreams(url)` lists its models), and
 * closes them all after.
 */
export function useEndpointsKeyport(
  dialect: Dialect,
  upstreams: (url: string) => unknown[] = endpointsUpstreams,
): EndpointsKeyport {
  let db: TestDatabase | undefined;
  let fake: FakeUpstream | undefined;
  const running = {} as { server: RunningServer; upstream: EndpointsUpstream };
  beforeAll(async () => {
    db = await dialect.fresh();
    fake = await startUpstream();
    running.upstream = await startEndpointsUpstream();
    running.server = await startKeyport(db, fake, {
      extraUpstreams: upstreams(running.upstream.url),
    });
  });
  afterAll(async () => {
    await running.server?.close();
    await running.upstream?.close();
    await fake?.close();
    await db?.drop();
  });
  return running;
}
