// The baseline: a bare node:http server that reads a small JSON POST and answers JSON.
import { createServer } from "node:http";

const port = Number(process.argv[2]);
createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { code?: unknown };
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ key: `sk-bare-${String(body.code).length}`, user_id: "user_bare" }));
  });
}).listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
