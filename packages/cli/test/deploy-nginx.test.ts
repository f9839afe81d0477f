import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects, type TestDatabase } from "../../server/test/support/databases.js";
import { type Child, freePort, spawnCli, waitForOk } from "./support/run-cli.js";
import { exchangeCode, prepareCode } from "./support/seed.js";

/**
 * docs/deploy.md's nginx config, exercised: two `keyport serve` on one PostgreSQL database behind
 * nginx (Debian's package; `scripts/install-nginx.sh`) on a loopback port. The config is the
 * ```nginx block of the doc itself, with the ports and log path put in; nginx runs in the
 * foreground with its pid file, logs and temp files in a temp dir and is ended by its PID.
 */

const NGINX = "/usr/sbin/nginx";
const postgres = dialects.find((dialect) => dialect.name === "postgres");
const DOC = new URL("../../../docs/deploy.md", import.meta.url);
const ECHO_DELAY_MS = 150;
const START_TIMEOUT_MS = 60_000;

/** The doc's nginx block, pointed at these instances, this port and this log directory. */
function renderConfig(dir: string, listen: number, upstreams: readonly number[]): string {
  const doc = readFileSync(DOC, "utf8");
  const block = /```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error("docs/deploy.md has no ```nginx block");
  const site = block
    .replace("server 127.0.0.1:8787 ", `server 127.0.0.1:${upstreams[0]} `)
    .replace("server 127.0.0.1:8788 ", `server 127.0.0.1:${upstreams[1]} `)
    .replace("listen 80;", `listen 127.0.0.1:${listen};`)
    .replace("/var/log/nginx/keyport.access.log", join(dir, "access.log"));
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((name) => `  ${name}_temp_path ${join(dir, name)};`)
    .join("\n");
  return `daemon off;
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 256; }
http {
${temp}
${site}
}
`;
}

describe.skipIf(!postgres || !existsSync(NGINX))(
  "docs/deploy.md: two keyport serve instances on one PostgreSQL behind nginx",
  () => {
    let database: TestDatabase;
    let dir: string;
    let nginx: ChildProcess | undefined;
    let instances: Child[] = [];
    let ports: number[] = [];
    let base: string;

    beforeAll(async () => {
      database = await (postgres as NonNullable<typeof postgres>).fresh();
      dir = mkdtempSync(join(tmpdir(), "keyport-nginx-"));
      ports = [await freePort(), await freePort()];
      instances = ports.map((port) =>
        spawnCli(["serve", "--port", String(port)], {
          env: {
            KEYPORT_DATABASE: database.url,
            KEYPORT_PUBLIC_URL: "http://localhost:8080",
            KEYPORT_TRUST_PROXY: "true",
            KEYPORT_ECHO_DELAY_MS: String(ECHO_DELAY_MS),
          },
        }),
      );
      await Promise.all(
        instances.map((child, i) => waitForOk(`http://127.0.0.1:${ports[i]}/healthz`, child, 600)),
      );
      const listen = await freePort();
      writeFileSync(join(dir, "nginx.conf"), renderConfig(dir, listen, ports));
      nginx = spawn(
        NGINX,
        ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")],
        {
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      base = `http://127.0.0.1:${listen}`;
      for (let attempt = 0; attempt < 100; attempt++) {
        if (nginx.exitCode !== null) break;
        try {
          if ((await fetch(`${base}/healthz`)).ok) return;
        } catch {
          // not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const log = existsSync(join(dir, "error.log"))
        ? readFileSync(join(dir, "error.log"), "utf8")
        : "";
      throw new Error(`nginx did not come up: ${log}`);
    }, START_TIMEOUT_MS);

    afterAll(async () => {
      if (nginx && nginx.exitCode === null) {
        const exited = new Promise((resolve) => nginx?.once("exit", resolve));
        nginx.kill("SIGQUIT");
        await exited;
      }
      for (const child of instances) {
        if (child.process.exitCode === null) child.process.kill("SIGTERM");
        await child.exited;
      }
      await database?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** The instances (by upstream port) the access log says answered requests. */
    function upstreamsAnswering(): Set<string> {
      const log = readFileSync(join(dir, "access.log"), "utf8");
      return new Set([...log.matchAll(/upstream=127\.0\.0\.1:(\d+)/g)].map((m) => m[1] as string));
    }

    it("/healthz answers through nginx", async () => {
      const response = await fetch(`${base}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: "ok" });
    });

    it("a code exchanged through nginx gives a key; requests through nginx reach both instances", async () => {
      const key = await exchangeCode(base, await prepareCode(database.url));
      for (let i = 0; i < 6; i++) {
        const response = await fetch(`${base}/api/v1/key`, {
          headers: { authorization: `Bearer ${key}` },
        });
        expect(response.status).toBe(200);
        await response.text();
      }
      // Round robin: the exchange and the six lookups were spread over both instances.
      expect(upstreamsAnswering()).toEqual(new Set(ports.map(String)));
    });

    it("a streamed chat completion arrives through nginx as it is generated (proxy_buffering off)", async () => {
      const key = await exchangeCode(base, await prepareCode(database.url));
      const response = await fetch(`${base}/api/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({
          model: "keyport/echo",
          stream: true,
          max_tokens: 10,
          messages: [{ role: "user", content: "one two three four five six" }],
        }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      const arrivals: number[] = [];
      let text = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const chunk = decoder.decode(value, { stream: true });
        if (chunk.includes('"content"')) arrivals.push(performance.now());
        text += chunk;
      }
      expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
      // Six words at 150 ms each: buffered, they would arrive in one piece at the end.
      expect(arrivals.length).toBeGreaterThanOrEqual(3);
      expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThan(
        2 * ECHO_DELAY_MS,
      );
    });
  },
);
