import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintCodes, prepareAccount, writeBodies } from "./support/keyport.js";

const dir = mkdtempSync(join(tmpdir(), "mint-"));
const db = join(dir, "x.sqlite");
const user = await prepareAccount(db);
let t = performance.now();
const codes = await mintCodes(db, user, 100_000, {
  label: "b",
  limitMicros: null,
  limitReset: null,
});
console.log("mint 100k", performance.now() - t);
t = performance.now();
writeBodies(dir, "b.txt", codes);
console.log("write", performance.now() - t);
