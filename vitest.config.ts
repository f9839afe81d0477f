import { defineConfig } from "vitest/config";

/**
 * The workspace packages resolve to their TypeScript sources under test (the `@keyport/source`
 * export condition), so tests need no build; plain Node resolves them to `dist/`. The rest is
 * Vite's default server conditions.
 */
const conditions = ["@keyport/source", "module", "node", "development|production"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts", "bench/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    globalSetup: ["packages/server/test/support/pglite-setup.ts"],
    reporters: ["default", "./test/summary-reporter.ts"],
  },
});
