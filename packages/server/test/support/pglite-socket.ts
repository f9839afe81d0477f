import { createServer, type Server } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketHandler } from "@electric-sql/pglite-socket";

/**
 * PostgreSQL's wire protocol on a loopback port in front of one PGlite, for many connections at
 * once (a pg.Pool of 10, a spawned `keyport serve`, a test's own pg.Client).
 *
 * PGlite is a single session, so connections must take turns in units the session can't mix up.
 * `@electric-sql/pglite-socket`'s own queue keeps a transaction's statements together but takes
 * turns message by message otherwise; pg sends a parameterized query as Parse, Bind, Describe,
 * Execute, Sync, and another connection's Parse landing in between replaces the unnamed statement
 * ("portal does not exist"). This queue lets one connection keep the session from its first
 * extended-protocol message to its Sync, and for as long as it holds a transaction open.
 */
export async function servePglite(db: PGlite): Promise<{ url: string; close(): Promise<void> }> {
  const queue = new SessionQueue(db);
  const sockets = new Set<import("node:net").Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const handler = new PGLiteSocketHandler({
      // The handler only calls enqueue, clearQueueForHandler and clearTransactionIfNeeded.
      queryQueue: queue as unknown as ConstructorParameters<
        typeof PGLiteSocketHandler
      >[0]["queryQueue"],
      closeOnDetach: true,
    });
    void handler.attach(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Queued {
  readonly handlerId: number;
  readonly message: Uint8Array;
  readonly onData: (data: Uint8Array) => void;
  resolve(bytes: number): void;
  reject(error: Error): void;
}

/** Frontend messages that open or continue an extended-protocol exchange, ended by Sync. */
const EXTENDED = new Set(["P", "B", "D", "E", "C", "H"].map((c) => c.charCodeAt(0)));
/** Sync: `S`, length 4. Sent for a connection that left mid-exchange, so the session recovers. */
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);
/** A simple Query message (`Q`, length, text, NUL). */
function query(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`);
  const message = Buffer.alloc(5 + body.length);
  message.write("Q", 0);
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

class SessionQueue {
  private readonly queue: Queued[] = [];
  /** The connection holding the session (mid-exchange or in a transaction), if any. */
  private owner: number | undefined;
  private midExchange = false;
  private running = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void) {
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.run();
    });
  }

  clearQueueForHandler(handlerId: number): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const item = this.queue[i] as Queued;
      if (item.handlerId !== handlerId) continue;
      this.queue.splice(i, 1);
      item.reject(new Error("connection closed"));
    }
  }

  /** A connection went away while holding the session: end its exchange and transaction. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    await this.db.runExclusive(async () => {
      if (this.midExchange) await this.db.execProtocolRaw(SYNC);
      if (this.db.isInTransaction()) await this.db.execProtocolRaw(query("ROLLBACK"));
    });
    this.owner = undefined;
    this.midExchange = false;
    void this.run();
  }

  private next(): Queued | undefined {
    const index =
      this.owner === undefined ? 0 : this.queue.findIndex((item) => item.handlerId === this.owner);
    return index === -1 ? undefined : this.queue.splice(index, 1)[0];
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let item = this.next(); item; item = this.next()) {
        const current = item;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(current.message, {
              onRawData: (data) => {
                bytes += data.length;
                current.onData(data);
              },
            }),
          );
        } catch (error) {
          current.reject(error as Error);
          continue;
        }
        this.midExchange = EXTENDED.has(current.message[0] ?? 0);
        this.owner = this.midExchange || this.db.isInTransaction() ? current.handlerId : undefined;
        current.resolve(bytes);
      }
    } finally {
      this.running = false;
    }
  }
}
