import { Agent, request } from "node:http";

/** One request of a workload: what to send, and how to tell a good answer. */
export interface LoadRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Throws when the answer is wrong; every response is checked. */
  check(status: number, body: string): void;
}

/** Throughput and latency of one run. */
export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Sends `total` requests from `next(i)` to `baseUrl` with `concurrency` in flight over keep-alive
 * connections, stopping early after `maxSeconds`. Latency is measured per request.
 */
export async function runLoad(options: {
  baseUrl: string;
  concurrency: number;
  total: number;
  maxSeconds: number;
  next: (index: number) => LoadRequest;
}): Promise<LoadResult> {
  const url = new URL(options.baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let issued = 0;
  const started = performance.now();
  const deadline = started + options.maxSeconds * 1000;

  async function worker() {
    while (issued < options.total && performance.now() < deadline) {
      const item = options.next(issued++);
      const t0 = performance.now();
      try {
        const { status, body } = await send(agent, url, item);
        item.check(status, body);
      } catch (error) {
        errors += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    errors,
    firstError,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

function send(
  agent: Agent,
  base: URL,
  item: LoadRequest,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: item.method,
        path: item.path,
        headers: {
          ...item.headers,
          ...(item.body === undefined ? {} : { "content-length": Buffer.byteLength(item.body) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(item.body);
  });
}

/** Formats one result as a table row. */
export function formatRow(label: string, result: LoadResult, baseline?: LoadResult): string {
  const ratio = baseline ? `${(result.perSecond / baseline.perSecond).toFixed(2)}x` : "1.00x";
  const errors = result.errors ? `  ERRORS: ${result.errors} (${result.firstError})` : "";
  const rate = result.perSecond.toFixed(0).padStart(8);
  const p50 = result.p50Ms.toFixed(3).padStart(7);
  const p99 = result.p99Ms.toFixed(3).padStart(7);
  return `${label.padEnd(34)} ${rate} req/s  p50 ${p50} ms  p99 ${p99} ms  ${ratio.padStart(6)} of baseline${errors}`;
}
