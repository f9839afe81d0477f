// Bundles the CLI's entry (the argument parser, the help, the command catalog) into one CommonJS
// file, the published bin. Node starts a lone .cjs file about 30 ms sooner than the same code as
// ten ES modules (no ESM loader, no module graph to resolve), which keeps `keyport --help` close
// to bare Node. Each command stays a separate ES module in dist/, imported only when it runs.
import { build } from "esbuild";

await build({
  entryPoints: ["src/main.ts"],
  outfile: "dist/keyport.cjs",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20.19",
  sourcemap: true,
  // Commands (and through them the server, its drivers and argon2) load lazily, from tsc's output.
  external: ["./commands/*"],
  // version.ts finds package.json next to its module: the bundle's own URL stands in for it.
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { "import.meta.url": "__bundleUrl" },
  logLevel: "warning",
});
