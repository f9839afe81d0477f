// The floor under any Node gateway: a bare node:http proxy that forwards a chat completion to the
// upstream over a keep-alive agent, reads and parses its JSON answer, and sends it on, with no
// key, no metering, no log and no framework. bench/gateway.ts measures it against the direct call
// as the "gateway floor" workload, so Keyport's gateway ratio can be read against it.
// Run: node bench/bare-proxy.ts UPSTREAM_PORT PORT (through tsx)
import { Agent, request } from "node:http";
import { serveBare } from "./support/bare-server.js";

const upstreamPort = Number(process.argv[2]);
const port = Number(process.argv[3]);
const agent = new Agent({ keepAlive: true, scheduling: "lifo" });

serveBare(port, (body, res) => {
  const upstream = request(
    {
      agent,
      hostname: "127.0.0.1",
      port: upstreamPort,
      path: "/v1/chat/completions",
      method: "POST",
      headers: { "content-type": "application/json", "content-length": body.length },
    },
    (answer) => {
      const parts: Buffer[] = [];
      answer.on("data", (part: Buffer) => parts.push(part));
      answer.on("end", () => {
        const text = Buffer.concat(parts).toString();
        JSON.parse(text);
        res.writeHead(answer.statusCode ?? 502, { "content-type": "application/json" }).end(text);
      });
    },
  );
  upstream.on("error", () => res.writeHead(502).end());
  upstream.end(body);
});
