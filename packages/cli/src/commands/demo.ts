import type { RunningWebApp } from "@keyport/example-web-app";
import { parseConfig, startServer } from "@keyport/server";
import type { Command } from "../command.js";
import { columns } from "../help.js";
import { EXIT } from "../io.js";
import { addressInUse, serverAddressInUse } from "./address-in-use.js";
import { configInput, serverOptions, serverOptionsRows } from "./server-options.js";
import { untilSignal } from "./signals.js";

/** `keyport demo` (what `npm start` runs): the server plus the example app on its own origin. */
export const demoCommand: Command = {
  usage: `Usage: keyport demo [options] [--app-port 8788]

Runs Keyport (as \`keyport serve\`) and the example app from examples/web-app on
its own origin, so you can click "Connect with Keyport" and watch the whole flow.

Options:
${columns([...serverOptionsRows, ["--app-port N", "the example app's port (default 8788)"]])}`,
  options: { ...serverOptions, "app-port": { type: "string" } },
  async run({ values }, io) {
    const config = parseConfig(configInput(values), io.env);
    const server = await startServer(config).catch((error: unknown) => {
      throw serverAddressInUse(error, config);
    });
    let app: RunningWebApp;
    try {
      const { startWebApp } = await import("@keyport/example-web-app");
      app = await startWebApp({
        port: Number(values["app-port"] ?? 8788),
        keyportUrl: config.publicUrl,
      });
    } catch (error) {
      // Left listening, Keyport would keep the process alive after the error.
      await server.close();
      throw addressInUse(error, "The example app", "--app-port");
    }
    io.stderr.write(
      `Keyport listening on ${config.publicUrl}\nExample app on ${app.url}: open it and click "Connect with Keyport"\n`,
    );
    await untilSignal();
    await app.close();
    await server.close();
    return EXIT.ok;
  },
};
