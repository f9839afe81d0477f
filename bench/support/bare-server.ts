import { createServer, type ServerResponse } from "node:http";

/**
 * A bare `node:http` server for a bench floor or baseline on 127.0.0.1:`port`: `GET /healthz`
 * answers at once; any other request's body is read whole and handed to `handle`. It exits on
 * SIGTERM.
 */
export function serveBare(port: number, handle: (body: Buffer, res: ServerResponse) => void): void {
  createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handle(Buffer.concat(chunks), res));
  }).listen(port, "127.0.0.1");
  process.on("SIGTERM", () => process.exit(0));
}
