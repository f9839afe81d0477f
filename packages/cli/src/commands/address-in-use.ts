import type { KeyportConfig } from "@keyport/server";
import { UsageError } from "../io.js";

/**
 * Turns Node's `EADDRINUSE` from a listen into a one-line message that names what wanted the
 * port and the flag that moves it; any other error is returned unchanged.
 * @example
 * await startServer(config).catch((error) => { throw addressInUse(error, "Keyport", "--port"); });
 */
export function addressInUse(error: unknown, what: string, flag: string): unknown {
  if ((error as NodeJS.ErrnoException | undefined)?.code !== "EADDRINUSE") return error;
  const { address, port } = error as { address?: string; port?: number };
  const where = address ? `${address.includes(":") ? `[${address}]` : address}:${port}` : port;
  return new UsageError(
    `${what} cannot listen on ${where}: the port is already in use (is another instance running?). Choose another with ${flag}.`,
  );
}

/**
 * {@link addressInUse} for a failed server start: names the metrics endpoint and its flag when
 * its port was the one taken, else Keyport's own.
 */
export function serverAddressInUse(error: unknown, config: KeyportConfig): unknown {
  const taken = (error as { port?: unknown } | undefined)?.port;
  return taken === config.metrics.port && taken !== config.port
    ? addressInUse(error, "The metrics endpoint", "--metrics-port (KEYPORT_METRICS_PORT)")
    : addressInUse(error, "Keyport", "--port (KEYPORT_PORT)");
}
