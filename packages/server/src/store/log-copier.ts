import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** How often the copier looks for new log frames. */
const COPY_EVERY_MS = 50;

/**
 * The worker's code, as a string (evaluated as CommonJS): a module file of its own would not be
 * found when the server runs from its TypeScript sources. It opens the database on its own
 * connection and copies the log into it every `intervalMs` with a PASSIVE checkpoint, which never
 * waits for the server's connection nor makes it wait.
 */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
const copy = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
const timer = setInterval(() => {
  try {
    copy.run();
  } catch (error) {
    parentPort.postMessage(String(error && error.message));
  }
}, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** A running copier; `stop` ends it and closes its connection. */
export interface LogCopier {
  stop(): Promise<void>;
}

/**
 * Copies a SQLite file's write-ahead log into the database on a thread of its own. The server's
 * connection still checkpoints every 1000 pages, as SQLite does by default, which is what lets the
 * log start over; but by then the copier has copied nearly every page, so what used to be the
 * slowest commit (a thousand page copies and two syncs, on the event loop) copies only the last
 * few. The server's own checkpoint stays the safeguard: a copier that stops or falls behind only
 * hands the work back.
 * @example
 * const copier = startLogCopier(".keyport/keyport.sqlite");
 * await copier.stop(); // before the server's connection closes, so it is the last and removes the log
 */
export function startLogCopier(path: string): LogCopier {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      path,
      driver: createRequire(import.meta.url).resolve("better-sqlite3"),
      intervalMs: COPY_EVERY_MS,
    },
  });
  // A copier that cannot run leaves the copying to the server's checkpoints; say so once.
  let told = false;
  const tell = (message: string) => {
    if (told) return;
    told = true;
    console.error(`keyport: copying the SQLite log in the background failed: ${message}`);
  };
  worker.on("message", (message: string) => tell(message));
  worker.on("error", (error) => tell(error.message));
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  return {
    async stop() {
      worker.postMessage("stop");
      await exited;
    },
  };
}
