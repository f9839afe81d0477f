import { Hono } from "hono";
import { DASHBOARD_STYLESHEET } from "../views/dashboard-styles.js";

/** The dashboard's static files, served from the package itself (no CDN). */
export function dashboardAssetRoutes() {
  const app = new Hono();
  app.get("/assets/dashboard.css", (c) => {
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(DASHBOARD_STYLESHEET, 200, { "Content-Type": "text/css; charset=utf-8" });
  });
  return app;
}
