import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The example app, serving on its own origin. */
export interface RunningWebApp {
  readonly url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

/**
 * Bundles the app's browser code with esbuild and serves it, with the Keyport server's URL written
 * into the page. A static site in production would do the same at build time.
 * @example
 * const app = await startWebApp({ port: 8788, keyportUrl: "http://localhost:8787" });
 */
export async function startWebApp(options: {
  port: number;
  host?: string;
  keyportUrl: string;
}): Promise<RunningWebApp> {
  const files = await bundle(options.keyportUrl);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://app").pathname;
    const file = files.get(path === "/" ? "/index.html" : path);
    if (req.method !== "GET" || !file) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found");
      return;
    }
    res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" }).end(file.body);
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host === "127.0.0.1" ? "localhost" : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function bundle(keyportUrl: string): Promise<Map<string, { type: string; body: string }>> {
  const result = await build({
    entryPoints: { app: `${root}src/app.ts`, "popup-callback": `${root}src/popup-callback.ts` },
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    outdir: "/",
    // @keyport/client from its sources, as in the tests: no build step in the demo loop.
    conditions: ["@keyport/source"],
    logLevel: "silent",
  });
  const files = new Map<string, { type: string; body: string }>();
  for (const output of result.outputFiles)
    files.set(output.path, { type: TYPES[".js"] as string, body: output.text });
  for (const name of ["index.html", "popup-callback.html", "app.css"]) {
    const text = await readFile(`${root}public/${name}`, "utf8");
    const type = TYPES[name.slice(name.lastIndexOf("."))] as string;
    files.set(`/${name}`, {
      type,
      body: text.replace("%KEYPORT_URL%", escapeAttribute(keyportUrl)),
    });
  }
  return files;
}

function escapeAttribute(value: string): string {
  return value.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}
