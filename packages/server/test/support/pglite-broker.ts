import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { servePglite } from "./pglite-socket.js";

/**
 * In-process PostgreSQL for the test suite when no real server is configured: PGlite instances
 * served on loopback ports by `@electric-sql/pglite-socket`, so tests reach them through a
 * postgres:// URL and our own `openStore` (pg.Pool), exactly as they reach a real server.
 *
 * PGlite is one PostgreSQL session behind every socket (`servePglite` lets connections take turns),
 * so a session setting such as `search_path` can't
 * tell two test databases apart on one instance. Each test database therefore gets an instance of
 * its own, lent out here and wiped on return: starting PGlite costs seconds (initdb in WASM), so
 * the instances live in vitest's main process for the whole run and every worker borrows them
 * over a loopback HTTP endpoint (`POST /claim`, `POST /release?port=`).
 */
export interface PgliteBroker {
  /** The broker's base URL, for `inject("pgliteBroker")`. */
  readonly url: string;
  close(): Promise<void>;
}

interface Instance {
  readonly db: PGlite;
  readonly server: { close(): Promise<void> };
  readonly url: string;
  busy: boolean;
}

/** Starts the broker on a loopback port; instances start on first claim. */
export async function startPgliteBroker(): Promise<PgliteBroker> {
  const instances = new Map<number, Instance>();
  let template: Promise<File | Blob> | undefined;

  async function start(): Promise<Instance> {
    // The first instance runs initdb; later ones load its pristine data directory (faster).
    const db = template
      ? await PGlite.create({ loadDataDir: await template })
      : await PGlite.create();
    template ??= db.dumpDataDir("none");
    await template;
    const server = await servePglite(db);
    const instance = { db, server, url: server.url, busy: true };
    instances.set(Number(new URL(instance.url).port), instance);
    return instance;
  }

  async function claim(): Promise<string> {
    const free = [...instances.values()].find((instance) => !instance.busy);
    if (free) {
      free.busy = true;
      return free.url;
    }
    return (await start()).url;
  }

  async function release(port: number): Promise<void> {
    const instance = instances.get(port);
    if (!instance) throw new Error(`no PGlite instance on port ${port}`);
    // Through the socket, queued behind whatever a last connection may still be running.
    const client = new pg.Client({ connectionString: instance.url });
    await client.connect();
    try {
      await client.query("DISCARD ALL");
      await client.query("DROP SCHEMA public CASCADE");
      await client.query("CREATE SCHEMA public");
    } finally {
      await client.end();
    }
    instance.busy = false;
  }

  const http: Server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://broker");
    const answer =
      request.method === "POST" && url.pathname === "/claim"
        ? claim()
        : request.method === "POST" && url.pathname === "/release"
          ? release(Number(url.searchParams.get("port"))).then(() => "")
          : Promise.reject(new Error(`unknown broker request ${request.method} ${url.pathname}`));
    answer.then(
      (body) => response.writeHead(200, { "content-type": "text/plain" }).end(body),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      for (const instance of instances.values()) {
        await instance.server.close();
        await instance.db.close();
      }
    },
  };
}
