// The baseline: a bare node:http server that reads a small JSON POST and answers JSON.
import { serveBare } from "./support/bare-server.js";

serveBare(Number(process.argv[2]), (body, res) => {
  const { code } = JSON.parse(body.toString()) as { code?: unknown };
  res
    .writeHead(200, { "content-type": "application/json" })
    .end(JSON.stringify({ key: `sk-bare-${String(code).length}`, user_id: "user_bare" }));
});
