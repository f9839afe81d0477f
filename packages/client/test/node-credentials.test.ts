import { spawn } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  credentialsPath,
  deleteKey,
  FileLockedError,
  loadKey,
  readCredentialsDocument,
  saveKey,
  updateCredentialsDocument,
} from "../src/node/index.js";

let dir: string;
let path: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "keyport-credentials-"));
  path = join(dir, "keyport", "credentials.json");
});

afterEach(() => rm(dir, { recursive: true, force: true }));

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe("credentialsPath", () => {
  it("follows XDG on Linux, Application Support on macOS, APPDATA on Windows", () => {
    const home = "/home/ada";
    expect(credentialsPath({ platform: "linux", homedir: home, env: {} })).toBe(
      "/home/ada/.config/keyport/credentials.json",
    );
    expect(
      credentialsPath({ platform: "linux", homedir: home, env: { XDG_CONFIG_HOME: "/cfg" } }),
    ).toBe("/cfg/keyport/credentials.json");
    expect(
      credentialsPath({ platform: "linux", homedir: home, env: { XDG_CONFIG_HOME: "rel" } }),
    ).toBe("/home/ada/.config/keyport/credentials.json");
    expect(credentialsPath({ platform: "darwin", homedir: "/Users/ada", env: {} })).toBe(
      "/Users/ada/Library/Application Support/keyport/credentials.json",
    );
    expect(
      credentialsPath({
        platform: "win32",
        homedir: "C:\\Users\\ada",
        env: { APPDATA: "C:\\Users\\ada\\AppData\\Roaming" },
      }),
    ).toBe("C:\\Users\\ada\\AppData\\Roaming\\keyport\\credentials.json");
  });
});

describe("saveKey / loadKey / deleteKey", () => {
  it("round-trips a key per normalised base URL", async () => {
    await saveKey(
      "https://openrouter.ai/",
      { key: "sk-or-1", userId: "u1", label: "cli", savedAt: new Date(0) },
      { path },
    );
    await saveKey("http://127.0.0.1:8787/base/", { key: "sk-kp-2" }, { path });
    expect(await loadKey("https://OpenRouter.ai", { path })).toEqual({
      key: "sk-or-1",
      userId: "u1",
      label: "cli",
      savedAt: "1970-01-01T00:00:00.000Z",
    });
    expect((await loadKey("http://127.0.0.1:8787/base", { path }))?.key).toBe("sk-kp-2");
    expect(await loadKey("http://127.0.0.1:8787", { path })).toBeUndefined();
    expect(await deleteKey("https://openrouter.ai", { path })).toBe(true);
    expect(await deleteKey("https://openrouter.ai", { path })).toBe(false);
    expect(await loadKey("https://openrouter.ai", { path })).toBeUndefined();
    expect((await loadKey("http://127.0.0.1:8787/base", { path }))?.key).toBe("sk-kp-2");
  });

  it("returns undefined when there is no file yet", async () => {
    expect(await loadKey("https://openrouter.ai", { path })).toBeUndefined();
  });

  it("creates the directory 0700 and the file 0600, and keeps 0600 after overwrite", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-1" }, { path });
    expect(await mode(join(dir, "keyport"))).toBe(0o700);
    expect(await mode(path)).toBe(0o600);
    await chmod(path, 0o644);
    await saveKey("https://openrouter.ai", { key: "sk-2" }, { path });
    expect(await mode(path)).toBe(0o600);
    expect((await loadKey("https://openrouter.ai", { path }))?.key).toBe("sk-2");
    expect(await readdir(join(dir, "keyport"))).toEqual(["credentials.json"]);
  });

  it("loses no save when many run at once in one process", async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        saveKey(`https://server-${i}.example`, { key: `sk-${i}` }, { path }),
      ),
    );
    for (let i = 0; i < 20; i++) {
      expect((await loadKey(`https://server-${i}.example`, { path }))?.key).toBe(`sk-${i}`);
    }
  });

  it("readers never see a partly written file", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-0" }, { path });
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 15; i++) {
        await saveKey(
          "https://openrouter.ai",
          { key: `sk-${i}`, label: "x".repeat(2_000_000) },
          {
            path,
          },
        );
      }
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const text = await readFile(path, "utf8");
      expect(() => JSON.parse(text)).not.toThrow();
      reads += 1;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
  });

  it("a crash before the rename leaves the previous file intact", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-before" }, { path });
    const before = await readFile(path, "utf8");
    const crash = join(dir, "crash-before-rename.mjs");
    await writeFile(
      crash,
      `import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
fs.promises.rename = async () => process.kill(process.pid, "SIGKILL");
syncBuiltinESMExports();`,
    );
    const child = join(dir, "child.mjs");
    const credentials = pathToFileURL(
      fileURLToPath(new URL("../src/node/credentials.ts", import.meta.url)),
    ).href;
    await writeFile(
      child,
      `import { saveKey } from ${JSON.stringify(credentials)};
await saveKey("https://openrouter.ai", { key: "sk-after", label: "y".repeat(100000) }, { path: ${JSON.stringify(path)} });
console.log("renamed");`,
    );
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
      const proc = spawn(process.execPath, ["--import", "tsx", "--import", crash, child], {
        stdio: "ignore",
      });
      proc.on("exit", (_code, killedBy) => resolve(killedBy));
    });
    expect(signal).toBe("SIGKILL");
    expect(await readFile(path, "utf8")).toBe(before);
    expect((await loadKey("https://openrouter.ai", { path }))?.key).toBe("sk-before");
    // The new content had been fully written, just never put in place.
    const leftovers = (await readdir(join(dir, "keyport"))).filter((f) => f.endsWith(".tmp"));
    expect(leftovers).toHaveLength(1);
    await saveKey("https://openrouter.ai", { key: "sk-next" }, { path });
    expect((await loadKey("https://openrouter.ai", { path }))?.key).toBe("sk-next");
  });

  it("keeps what it does not own (the CLI's profiles) when it saves or deletes", async () => {
    const profiles = { default: { server: "http://localhost:8787", key: "sk-cli" } };
    await saveKey("https://openrouter.ai", { key: "sk-0" }, { path });
    await writeFile(path, JSON.stringify({ version: 1, keys: {}, profiles }));
    await saveKey("https://openrouter.ai", { key: "sk-1" }, { path });
    await deleteKey("https://openrouter.ai", { path });
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ version: 1, keys: {}, profiles });
  });

  it("refuses to overwrite a file it cannot parse", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-1" }, { path });
    await writeFile(path, "{ not json");
    await expect(saveKey("https://openrouter.ai", { key: "sk-2" }, { path })).rejects.toThrow(
      /not valid JSON/,
    );
    expect(await readFile(path, "utf8")).toBe("{ not json");
  });

  it("rejects misuse with a TypeError and never puts the key in an error", async () => {
    await expect(saveKey("not a url", { key: "sk-secret" }, { path })).rejects.toMatchObject({
      name: "TypeError",
      code: "ERR_INVALID_ARG_VALUE",
    });
    await expect(saveKey("not a url", { key: "sk-secret" }, { path })).rejects.not.toThrow(
      /sk-secret/,
    );
    await expect(saveKey("https://a.example", { key: "" }, { path })).rejects.toThrow(TypeError);
  });
});

describe("updateCredentialsDocument", () => {
  it("keeps the SDK's keys beside a tool's own field, loses none of 20 changes at once, 0600", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-or-v1-a" }, { path });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        updateCredentialsDocument(path, (document) => ({
          ...document,
          profiles: { ...(document.profiles as object), [`p${i}`]: { server: `http://h${i}` } },
        })),
      ),
    );
    const document = await readCredentialsDocument(path);
    expect(Object.keys(document.profiles as object)).toHaveLength(20);
    expect((await loadKey("https://openrouter.ai", { path }))?.key).toBe("sk-or-v1-a");
    expect(await mode(path)).toBe(0o600);
  });

  it("refuses to rewrite a file it cannot read, and leaves it as it was", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-or-v1-a" }, { path });
    await writeFile(path, "[1,2]");
    await expect(updateCredentialsDocument(path, (document) => document)).rejects.toThrow(
      /not a Keyport credentials file/,
    );
    expect(await readFile(path, "utf8")).toBe("[1,2]");
  });
});

describe("across processes: the credentials file's lock", () => {
  const credentialsModule = pathToFileURL(
    fileURLToPath(new URL("../src/node/credentials.ts", import.meta.url)),
  ).href;

  /** Runs a Node child (through tsx) that imports the credentials module; resolves its exit code. */
  function child(script: string): Promise<number | null> {
    return new Promise((resolve, reject) => {
      const proc = spawn(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", script],
        {
          stdio: ["ignore", "ignore", "inherit"],
        },
      );
      proc.on("error", reject);
      proc.on("exit", (code) => resolve(code));
    });
  }

  it("6 processes making 8 changes each at once lose none of the 48", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-or-v1-a" }, { path });
    const script = (n: number) => `
      import { updateCredentialsDocument } from ${JSON.stringify(credentialsModule)};
      for (let i = 0; i < 8; i++) {
        await updateCredentialsDocument(${JSON.stringify(path)}, (document) => ({
          ...document,
          profiles: { ...document.profiles, ["p${n}-" + i]: { server: "http://h" } },
        }));
      }`;
    const codes = await Promise.all(Array.from({ length: 6 }, (_, n) => child(script(n))));
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    const document = await readCredentialsDocument(path);
    expect(Object.keys(document.profiles as object)).toHaveLength(48);
    expect((await loadKey("https://openrouter.ai", { path }))?.key).toBe("sk-or-v1-a");
    expect((await readdir(join(dir, "keyport"))).sort()).toEqual(["credentials.json"]);
  });

  it("waits while a live process holds the lock, and writes once it lets go", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-before" }, { path });
    // This test's own process holds it: alive for as long as the test runs.
    await writeFile(`${path}.lock`, `${process.pid}\n`);
    let done = false;
    const saving = saveKey("https://openrouter.ai", { key: "sk-after" }, { path }).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(done).toBe(false);
    expect((await loadKey("https://openrouter.ai", { path }))?.key).toBe("sk-before");
    await rm(`${path}.lock`);
    await saving;
    expect((await loadKey("https://openrouter.ai", { path }))?.key).toBe("sk-after");
  });

  it("takes over at once a lock whose process has exited", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-before" }, { path });
    const exited = spawn(process.execPath, ["-e", ""]);
    const pid = exited.pid;
    await new Promise((resolve) => exited.on("exit", resolve));
    await writeFile(`${path}.lock`, `${pid}\n`);
    await saveKey("https://openrouter.ai", { key: "sk-after" }, { path });
    expect((await loadKey("https://openrouter.ai", { path }))?.key).toBe("sk-after");
    expect((await readdir(join(dir, "keyport"))).sort()).toEqual(["credentials.json"]);
  });

  it("another host's lock (a shared home directory) is waited for, not judged by its pid, and taken over once 30 s old", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-before" }, { path });
    // A pid that no process here has: on this host it would count as dead.
    await writeFile(`${path}.lock`, "2147483646@another-host.example\n");
    let done = false;
    const saving = saveKey("https://openrouter.ai", { key: "sk-after" }, { path }).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(done).toBe(false);
    const longAgo = new Date(Date.now() - 31_000);
    await utimes(`${path}.lock`, longAgo, longAgo);
    await saving;
    expect((await loadKey("https://openrouter.ai", { path }))?.key).toBe("sk-after");
  });

  it("gives up with FileLockedError after 10 s behind a live holder, and changes nothing", async () => {
    await saveKey("https://openrouter.ai", { key: "sk-before" }, { path });
    const before = await readFile(path, "utf8");
    await writeFile(`${path}.lock`, `${process.pid}\n`);
    const started = Date.now();
    const refused = await saveKey("https://openrouter.ai", { key: "sk-after" }, { path }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(FileLockedError);
    expect((refused as FileLockedError).code).toBe("ERR_FILE_LOCKED");
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    expect(await readFile(path, "utf8")).toBe(before);
    // The holder's lock is left to its holder.
    expect(await readFile(`${path}.lock`, "utf8")).toBe(`${process.pid}\n`);
  }, 30_000);
});
