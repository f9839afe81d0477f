// The floor under any Node gateway: a bare proxy that forwards a chat completion to the upstream
// over keep-alive connections, reads and parses its JSON answer, and sends it on, with no key, no
// metering, no log and no framework. Its client is `node:http` (as Keyport's) or undici's `Pool`
// (Node's faster client, to show what changing clients could buy). bench/gateway.ts measures both
// against the direct call as the "gateway floor" workload.
// Run: node bench/bare-proxy.ts node-http|undici UPSTREAM_PORT PORT (through tsx)
import type { ServerResponse } from "node:http";
import { Agent, request } from "node:http";
import { Pool } from "undici";
import { serveBare } from "./support/bare-server.js";

const [client, upstreamPort = "0", port = "0"] = process.argv.slice(2);
const PATH = "/v1/chat/completions";

/** Sends `text`, the upstream's answer, on once it has been parsed (as a gateway reads usage). */
function answer(res: ServerResponse, status: number, text: string): void {
  JSON.parse(text);
  res.writeHead(status, { "content-type": "application/json" }).end(text);
}

function viaNodeHttp(): (body: Buffer, res: ServerResponse) => void {
  const agent = new Agent({ keepAlive: true, scheduling: "lifo" });
  return (body, res) => {
    const upstream = request(
      {
        agent,
        hostname: "127.0.0.1",
        port: upstreamPort,
        path: PATH,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": body.length },
      },
      (response) => {
        const parts: Buffer[] = [];
        response.on("data", (part: Buffer) => parts.push(part));
        response.on("end", () =>
          answer(res, response.statusCode ?? 502, Buffer.concat(parts).toString()),
        );
      },
    );
    upstream.on("error", () => res.writeHead(502).end());
    upstream.end(body);
  };
}

function viaUndici(): (body: Buffer, res: ServerResponse) => void {
  const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 128 });
  return (body, res) => {
    pool
      .request({
        path: PATH,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      })
      .then(async (response) => answer(res, response.statusCode, await response.body.text()))
      .catch(() => res.writeHead(502).end());
  };
}

serveBare(Number(port), client === "undici" ? viaUndici() : viaNodeHttp());
