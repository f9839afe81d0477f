import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Hono } from "hono";
import { DASHBOARD_STYLESHEET } from "../views/dashboard-styles.js";
import { USAGE_CHART_SCRIPT } from "../web/usage-chart-script.js";

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** A file of the uPlot package, as installed beside the server (read once, on first use). */
function uplotFile(name: string): () => string {
  let text: string | undefined;
  return () => {
    text ??= readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${name}`), "utf8");
    return text;
  };
}

/**
 * The dashboard's static files, all served from the package itself (no CDN): its stylesheet,
 * the usage chart's script, and uPlot's ESM build and stylesheet from its npm package.
 */
export function dashboardAssetRoutes() {
  const app = new Hono();
  const files: Record<string, [type: string, body: () => string]> = {
    "/assets/dashboard.css": [CSS, () => DASHBOARD_STYLESHEET],
    "/assets/usage-chart.js": [JS, () => USAGE_CHART_SCRIPT],
    "/assets/uplot.esm.js": [JS, uplotFile("uPlot.esm.js")],
    "/assets/uplot.min.css": [CSS, uplotFile("uPlot.min.css")],
  };
  for (const [path, [type, body]] of Object.entries(files)) {
    app.get(path, (c) => {
      c.header("Cache-Control", "public, max-age=3600");
      return c.body(body(), 200, { "Content-Type": type });
    });
  }
  return app;
}
