import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, spawnCli } from "./support/run-cli.js";

/** A plain TCP server holding a loopback port, as another program would. */
async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0 };
}

/** Whether something accepts connections on the loopback port. */
async function listening(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`);
    return true;
  } catch {
    return false;
  }
}

let dir: string;
let taken: { server: Server; port: number };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "keyport-ports-"));
  taken = await occupy();
});
afterAll(async () => {
  await new Promise((resolve) => taken.server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("a port already in use (issue 12): a clear error and a non-zero exit, never a hang", () => {
  it("`keyport demo` (what `npm start` runs) with the example app's port taken: Keyport stops too", async () => {
    const port = await freePort();
    const child = spawnCli(["demo", "--port", String(port), "--app-port", String(taken.port)], {
      env: { KEYPORT_DATABASE: join(dir, "demo.sqlite") },
    });
    const result = await child.exited;
    expect(result.code).not.toBe(0);
    expect(result.signal).toBeNull();
    const lines = result.stderr.trim().split("\n");
    expect(lines.at(-1)).toBe(
      `keyport demo: The example app cannot listen on 127.0.0.1:${taken.port}: the port is already in use (is another instance running?). Choose another with --app-port.`,
    );
    expect(await listening(port)).toBe(false);
  });

  it.each(["demo", "serve"])("`keyport %s` with Keyport's port taken", async (command) => {
    const child = spawnCli([command, "--port", String(taken.port)], {
      env: { KEYPORT_DATABASE: join(dir, `${command}.sqlite`) },
    });
    const result = await child.exited;
    expect(result.code).not.toBe(0);
    expect(result.signal).toBeNull();
    expect(result.stderr.trim()).toBe(
      `keyport ${command}: Keyport cannot listen on 127.0.0.1:${taken.port}: the port is already in use (is another instance running?). Choose another with --port (KEYPORT_PORT).`,
    );
  });

  it("`keyport serve` with the metrics port taken: names --metrics-port, and Keyport stops too", async () => {
    const port = await freePort();
    const child = spawnCli(
      ["serve", "--port", String(port), "--metrics-port", String(taken.port)],
      { env: { KEYPORT_DATABASE: join(dir, "metrics.sqlite") } },
    );
    const result = await child.exited;
    expect(result.code).toBe(2);
    expect(result.signal).toBeNull();
    expect(result.stderr.trim()).toBe(
      `keyport serve: The metrics endpoint cannot listen on 127.0.0.1:${taken.port}: the port is already in use (is another instance running?). Choose another with --metrics-port (KEYPORT_METRICS_PORT).`,
    );
    expect(await listening(port)).toBe(false);
  });
});
