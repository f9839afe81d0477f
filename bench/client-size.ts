/**
 * Browser bundle size of the whole redirect sign-in (`startSignIn` + `completeSignIn`: PKCE,
 * authorization URL, state, storage, callback, exchange, typed errors) against two baselines
 * measured in the same run: `pkce-challenge` (PKCE pair only) and `oauth4webapi` tree-shaken to
 * PKCE + code grant request + response processing.
 *
 * Run: node --import tsx bench/client-size.ts
 */
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const browserEntry = fileURLToPath(
  new URL("../packages/client/src/browser/index.ts", import.meta.url),
);
const coreEntry = fileURLToPath(new URL("../packages/client/src/index.ts", import.meta.url));

export interface Entry {
  name: string;
  source: string;
  /** Index of our entry doing the same job, for the ratio; absent on our own entries. */
  versus?: number;
}

export interface Measurement {
  name: string;
  versus?: number;
  minified: number;
  gzip: number;
  /** The bundle, for inspection. */
  code: string;
}

export const entries: Entry[] = [
  {
    name: "@keyport/client/browser (whole flow)",
    source: `export { startSignIn, completeSignIn } from ${JSON.stringify(browserEntry)};`,
  },
  {
    name: "@keyport/client createPkcePair (PKCE only)",
    source: `export { createPkcePair } from ${JSON.stringify(coreEntry)};`,
  },
  {
    name: "pkce-challenge (PKCE only)",
    source: `import pkceChallenge from "pkce-challenge"; export { pkceChallenge };`,
    versus: 1,
  },
  {
    name: "oauth4webapi (PKCE + code grant)",
    source: `export {
  generateRandomCodeVerifier,
  calculatePKCECodeChallenge,
  authorizationCodeGrantRequest,
  processAuthorizationCodeResponse,
} from "oauth4webapi";`,
    versus: 0,
  },
];

/** Bundles `entry` for browsers as an app would ship it: minified ESM, tree-shaken. */
export async function measure(entry: Entry): Promise<Measurement> {
  const result = await build({
    stdin: { contents: entry.source, resolveDir: here, loader: "ts", sourcefile: "entry.ts" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]?.text ?? "";
  return {
    name: entry.name,
    versus: entry.versus,
    minified: Buffer.byteLength(code),
    gzip: gzipSync(code, { level: 9 }).length,
    code,
  };
}

function table(rows: Measurement[]): string {
  const ratio = (row: Measurement, key: "minified" | "gzip") => {
    const ours = row.versus === undefined ? undefined : rows[row.versus];
    return ours ? `${(row[key] / ours[key]).toFixed(2)}x` : "ours";
  };
  const lines = [
    ["bundle", "bytes min", "bytes gzip", "min vs ours", "gzip vs ours"],
    ...rows.map((row) => [
      row.name,
      String(row.minified),
      String(row.gzip),
      ratio(row, "minified"),
      ratio(row, "gzip"),
    ]),
  ];
  const widths = (lines[0] ?? []).map((_, i) => Math.max(...lines.map((l) => l[i]?.length ?? 0)));
  const pad = (cell: string, i: number) =>
    i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0);
  return lines.map((line) => line.map(pad).join("  ")).join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await Promise.all(entries.map(measure));
  console.log(table(rows));
  console.log(
    "\nRatios compare each baseline with our entry doing the same job (>1x: ours smaller).",
  );
}
