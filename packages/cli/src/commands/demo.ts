import { parseConfig, startServer } from "@keyport/server";
import type { Command } from "../command.js";
import { EXIT } from "../io.js";
import { configInput, serverOptions, serverOptionsHelp } from "./server-options.js";
import { untilSignal } from "./signals.js";

/** `keyport demo` (what `npm start` runs): the server plus the example app on its own origin. */
export const demoCommand: Command = {
  usage: `Usage: keyport demo [options] [--app-port 8788]

Runs Keyport (as \`keyport serve\`) and the example app from examples/web-app on
its own origin, so you can click "Connect with Keyport" and watch the whole flow.

Options:
${serverOptionsHelp}  --app-port N        the example app's port (default 8788)
`,
  options: { ...serverOptions, "app-port": { type: "string" } },
  async run({ values }, io) {
    const config = parseConfig(configInput(values), io.env);
    const server = await startServer(config);
    const { startWebApp } = await import("@keyport/example-web-app");
    const app = await startWebApp({
      port: Number(values["app-port"] ?? 8788),
      keyportUrl: config.publicUrl,
    });
    io.stderr.write(
      `Keyport listening on ${config.publicUrl}\nExample app on ${app.url}: open it and click "Connect with Keyport"\n`,
    );
    await untilSignal();
    await app.close();
    await server.close();
    return EXIT.ok;
  },
};
