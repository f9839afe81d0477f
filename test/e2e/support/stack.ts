import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningWebApp, startWebApp } from "@keyport/example-web-app";
import { type ConfigInput, parseConfig, type RunningServer, startServer } from "@keyport/server";

/** A Keyport server on a fresh SQLite file and the example app on its own origin. */
export interface Stack {
  readonly keyport: RunningServer;
  /** The server as a browser reaches it (`localhost`, where Secure cookies work over http). */
  readonly keyportUrl: string;
  readonly app: RunningWebApp;
  close(): Promise<void>;
}

/** Starts the stack on free loopback ports; `options` are the Keyport server's own. */
export async function startStack(options: ConfigInput = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "keyport-e2e-"));
  const keyport = await startServer(
    parseConfig({
      port: 0,
      database: join(dir, "keyport.sqlite"),
      signInRateLimit: 1000,
      signUpRateLimit: 1000,
      ...options,
    }),
  );
  const keyportUrl = `http://localhost:${keyport.port}`;
  const app = await startWebApp({ port: 0, keyportUrl });
  return {
    keyport,
    keyportUrl,
    app,
    async close() {
      await app.close();
      await keyport.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
