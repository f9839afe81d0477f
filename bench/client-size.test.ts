import { describe, expect, it } from "vitest";
import { entries, type Measurement, measure } from "./client-size.js";

// Sizes, not timings: deterministic for a given lockfile, so they may gate a regression.
describe("client browser bundle", () => {
  it("builds for browsers without Node built-ins and beats its baselines", async () => {
    const [flow, pkce, pkceChallenge, oauth4webapi] = (await Promise.all(
      entries.map(measure),
    )) as Measurement[];
    expect(flow?.code).not.toMatch(/node:|require\(/);
    expect(flow?.code).toContain("sessionStorage");
    expect(flow?.gzip).toBeLessThan(oauth4webapi?.gzip ?? 0);
    expect(pkce?.gzip).toBeLessThan(pkceChallenge?.gzip ?? 0);
  });
});
