import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "bench/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    globalSetup: ["packages/server/test/support/pglite-setup.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
