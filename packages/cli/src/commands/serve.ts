import { parseConfig, startServer, stdoutLogger, systemClock } from "@keyport/server";
import type { Command } from "../command.js";
import { EXIT } from "../io.js";
import { serverAddressInUse } from "./address-in-use.js";
import { configInput, serverOptions, serverOptionsHelp } from "./server-options.js";
import { untilSignal } from "./signals.js";

/** `keyport serve`: runs the server until SIGINT or SIGTERM. */
export const serveCommand: Command = {
  usage: `Usage: keyport serve [options]

Runs the authorization server, key API and pages. Migrations run at start;
GET /healthz answers 200 once ready. SIGINT/SIGTERM shut down gracefully.

Options:
${serverOptionsHelp}`,
  options: serverOptions,
  async run({ values }, io) {
    const config = parseConfig(configInput(values), io.env);
    const logger = stdoutLogger(config.logLevel);
    const server = await startServer(config, systemClock, { logger }).catch((error: unknown) => {
      throw serverAddressInUse(error, config);
    });
    io.stderr.write(`Keyport listening on ${server.url} (public URL ${config.publicUrl})\n`);
    if (server.metricsUrl) io.stderr.write(`Metrics on ${server.metricsUrl}/metrics\n`);
    const signal = await untilSignal();
    io.stderr.write(`Received ${signal}; finishing in-flight requests\n`);
    await server.close();
    return EXIT.ok;
  },
};
