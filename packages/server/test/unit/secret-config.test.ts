import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/config.js";

const SECRET = "t3Vb0kq9R1xZ2pLm8Yw4Hs7Nc6Df5Ga0JeQi"; // 36 bytes

describe("issue 9, item 9: the signing secret from KEYPORT_SECRET or KEYPORT_SECRET_FILE", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "keyport-secret-config-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("neither set: no operator secret (the server keeps a generated one in its database)", () => {
    const config = parseConfig();
    expect(config.secret).toBeUndefined();
    expect(config.secretFile).toBeUndefined();
  });

  it("KEYPORT_SECRET is taken as it is, and never shows in the printed config", () => {
    const config = parseConfig({}, { KEYPORT_SECRET: SECRET });
    expect(config.secret).toBe(SECRET);
    expect(JSON.stringify(config)).not.toContain(SECRET);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("KEYPORT_SECRET_FILE is read, its trailing newline dropped", () => {
    const file = join(dir, "secret");
    writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
    expect(parseConfig({}, { KEYPORT_SECRET_FILE: file })).toMatchObject({
      secret: SECRET,
      secretFile: file,
    });
  });

  it.each([
    ["31 bytes", { KEYPORT_SECRET: SECRET.slice(0, 31) }, /KEYPORT_SECRET: .*32/],
    ["a placeholder", { KEYPORT_SECRET: "changeme".repeat(5) }, /KEYPORT_SECRET: .*random/],
    ["surrounding spaces", { KEYPORT_SECRET: ` ${SECRET}` }, /KEYPORT_SECRET: /],
    ["both", { KEYPORT_SECRET: SECRET, KEYPORT_SECRET_FILE: "/x" }, /not both/],
    ["a missing file", { KEYPORT_SECRET_FILE: "/nonexistent/keyport-secret" }, /ENOENT/],
  ])("refuses %s, naming the variable and never echoing the secret", (_, given, message) => {
    const env: Record<string, string> = given;
    let thrown: unknown;
    try {
      parseConfig({}, env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(message);
    if (env.KEYPORT_SECRET) expect((thrown as Error).message).not.toContain(env.KEYPORT_SECRET);
  });

  it("refuses a file holding fewer than 32 bytes", () => {
    const file = join(dir, "short");
    writeFileSync(file, "short\n", { mode: 0o600 });
    expect(() => parseConfig({}, { KEYPORT_SECRET_FILE: file })).toThrow(
      /KEYPORT_SECRET_FILE: .*32/,
    );
  });
});
