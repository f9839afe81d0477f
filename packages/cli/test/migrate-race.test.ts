import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { spawnCli } from "./support/run-cli.js";

/** Processes that open a new SQLite file at the same moment, as a first serve and an admin command. */
describe("migrating one new SQLite file from several processes at once", () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  it("every process succeeds and each migration is applied exactly once", async () => {
    for (let round = 0; round < 3; round++) {
      const folder = mkdtempSync(join(tmpdir(), "keyport-migrate-race-"));
      folders.push(folder);
      const database = join(folder, "keyport.sqlite");
      const runs = await Promise.all(
        Array.from({ length: 4 }, () => spawnCli(["migrate", "--database", database]).exited),
      );
      for (const run of runs) expect(run.stderr).not.toMatch(/duplicate|error/i);
      expect(runs.map((run) => run.code)).toEqual([0, 0, 0, 0]);
      const applied = runs.flatMap((run) => run.stdout.match(/^applied .+$/gm) ?? []);
      expect(applied.length).toBeGreaterThan(0);
      expect(new Set(applied).size).toBe(applied.length);
    }
  }, 120_000);
});
