// The floor under any durable exchange in Node: a bare node:http server that redeems an unexpired,
// unspent code for a key in Keyport's own SQLite schema, checking its S256 verifier, with no
// framework, validation layer, log or metrics (nor Keyport's replay revocation or key terms). Each request's consuming UPDATE and key INSERT join
// one transaction per event-loop turn (group commit, as Keyport's), committed with
// synchronous = NORMAL and answered once an fdatasync of the log has followed the commit: every
// key is on disk when its answer leaves. bench/exchange.ts measures it against the bare JSON
// server as the "exchange floor" workload.
// Run: node bench/bare-exchange.ts DATABASE PORT (through tsx)
import { hash, randomBytes } from "node:crypto";
import { fdatasync, openSync } from "node:fs";
import type { ServerResponse } from "node:http";
import SQLite from "better-sqlite3";
import { serveBare } from "./support/bare-server.js";

const [database = "", port = "0"] = process.argv.slice(2);
const db = new SQLite(database);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
const log = openSync(`${database}-wal`, "r+");
const consume = db.prepare(
  `UPDATE codes SET consumed_at = ?, key_hash = ?
   WHERE code_hash = ? AND consumed_at IS NULL AND expires_at > ?
   RETURNING user_id, code_challenge, key_label`,
);
const insertKey = db.prepare(
  `INSERT INTO keys (hash, user_id, label, created_at, created_via) VALUES (?, ?, ?, ?, 'exchange')`,
);
const sha256 = (text: string, encoding: "hex" | "base64url") => hash("sha256", text, encoding);

interface Pending {
  readonly code: string;
  readonly verifier: string;
  readonly res: ServerResponse;
}
let queue: Pending[] = [];

function commit(): void {
  const batch = queue;
  queue = [];
  const now = Date.now();
  const answers: [ServerResponse, number, string][] = [];
  db.exec("BEGIN");
  for (const { code, verifier, res } of batch) {
    const key = `sk-kp-v1-${randomBytes(32).toString("hex")}`;
    const keyHash = sha256(key, "hex");
    const row = consume.get(now, keyHash, sha256(code, "hex"), now) as
      | { user_id: string; code_challenge: string; key_label: string }
      | undefined;
    if (!row || row.code_challenge !== sha256(verifier, "base64url")) {
      answers.push([res, 403, '{"error":{"code":403,"message":"Invalid code"}}']);
      continue;
    }
    insertKey.run(keyHash, row.user_id, row.key_label, now);
    answers.push([res, 200, JSON.stringify({ key, user_id: row.user_id })]);
  }
  db.exec("COMMIT");
  fdatasync(log, () => {
    for (const [res, status, body] of answers)
      res.writeHead(status, { "content-type": "application/json" }).end(body);
  });
}

serveBare(Number(port), (raw, res) => {
  const body = JSON.parse(raw.toString()) as { code?: unknown; code_verifier?: unknown };
  if (typeof body.code !== "string" || typeof body.code_verifier !== "string") {
    res.writeHead(400).end();
    return;
  }
  if (queue.length === 0) setImmediate(commit);
  queue.push({ code: body.code, verifier: body.code_verifier, res });
});
