import { createServer, type Server, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { dialects, type TestDatabase } from "./support/databases.js";
import { startTestServer } from "./support/server.js";

/**
 * A TCP proxy in front of the database server: the test cuts it (listener closed, every
 * connection destroyed) to take the database away from Keyport, and starts it again on the same
 * port to bring it back, as a network partition or a database restart would.
 */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.targetHost, this.targetPort);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    this.port = typeof address === "object" && address ? address.port : 0;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

function createConnection(host: string, port: number): Socket {
  const socket = new Socket();
  socket.connect(port, host);
  return socket;
}

async function readyz(server: RunningServer): Promise<Response> {
  return fetch(`${server.url}/readyz`);
}

async function expectNotReady(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  const body = (await response.json()) as { error: { code: number; message: string } };
  expect(body).toEqual({ error: { code: 503, message: "Database unavailable" } });
}

describe("GET /readyz (SQLite)", () => {
  const sqlite = dialects.find((dialect) => dialect.name === "sqlite");
  let database: TestDatabase | undefined;
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close().catch(() => {});
    await database?.drop();
  });

  it("200 while the database answers; 503 once the store is closed, while /healthz stays 200", async () => {
    database = await sqlite?.fresh();
    server = await startTestServer(database as TestDatabase);
    const ready = await readyz(server);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ok" });

    await server.store.close();
    await expectNotReady(await readyz(server));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe("GET /readyz (PostgreSQL behind a proxy the test cuts)", () => {
  const postgres = dialects.find((dialect) => dialect.name === "postgres");
  let database: TestDatabase | undefined;
  let server: RunningServer | undefined;
  let proxy: CuttableProxy | undefined;
  afterEach(async () => {
    await proxy?.open().catch(() => {});
    await server?.close();
    await proxy?.cut();
    await database?.drop();
  });

  it("503 while the connection is down, /healthz stays 200, and 200 again once it is back", async () => {
    database = await postgres?.fresh();
    const direct = new URL((database as TestDatabase).url);
    proxy = new CuttableProxy(direct.hostname, Number(direct.port || 5432));
    await proxy.open();
    const viaProxy = new URL(direct.href);
    viaProxy.port = String(proxy.port);
    server = await startTestServer({ url: viaProxy.href, drop: async () => {} });
    expect((await readyz(server)).status).toBe(200);

    await proxy.cut();
    await expectNotReady(await readyz(server));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    await proxy.open();
    // The pool drops its dead connection on the failed query and opens a new one for the next.
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
      status = (await readyz(server)).status;
    }
    expect(status).toBe(200);
    // PGlite behind its socket takes a while to accept the pool's new connections under load.
  }, 90_000);
});
