import { runWrk, type WrkResult, type WrkRun } from "./wrk.js";

/** What a side needs for one run: its bodies and where to send them. */
export interface RunPlan {
  readonly connections: number;
  readonly seconds: number;
  /** The rate this side reached at this concurrency earlier in the bench, if it ran yet. */
  readonly expectedPerSecond?: number;
}

/** One side of a comparison: the baseline, or Keyport. */
export interface Side {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly bodyFile?: string;
  /** Set up one run (e.g. mint its single-use codes); returns what wrk needs beyond the above. */
  prepare?(plan: RunPlan): Promise<Pick<WrkRun, "bodiesFile">>;
  /** Checks the server's record of a finished run (e.g. a durable key per 200); a message if wrong. */
  verify?(result: WrkResult): Promise<string | undefined>;
  /** The server process, whose memory is sampled under load. */
  readonly pid?: number;
}

/** One workload: a baseline and Keyport doing the same job. */
export interface Workload {
  readonly name: string;
  readonly baselineName: string;
  readonly baseline: Side;
  readonly keyport: Side;
}

/** Both sides' results at one concurrency, one entry per round. */
export interface Comparison {
  readonly workload: Workload;
  readonly connections: number;
  readonly rounds: { baseline: WrkResult; keyport: WrkResult }[];
  /** Every failed response or check, by side and round. */
  readonly problems: string[];
}

/**
 * Runs a workload: a short warm-up of each side at each concurrency, then `rounds` rounds in which
 * baseline and Keyport run back to back at each concurrency (so a slow moment of a shared machine
 * hits both), each for `seconds`.
 */
export async function compare(
  workload: Workload,
  options: { concurrencies: readonly number[]; rounds: number; seconds: number; warmup: number },
  log: (line: string) => void,
): Promise<Comparison[]> {
  const rates = new Map<string, number>();
  const once = async (side: Side, name: string, connections: number, seconds: number) => {
    const plan = { connections, seconds, expectedPerSecond: rates.get(`${name}/${connections}`) };
    const extra = (await side.prepare?.(plan)) ?? {};
    const result = await runWrk({
      url: side.url,
      connections,
      seconds,
      headers: side.headers,
      bodyFile: side.bodyFile,
      watchPid: side.pid,
      ...extra,
    });
    rates.set(`${name}/${connections}`, result.perSecond);
    return result;
  };
  /** A run; run again (with more prepared bodies) if it went faster than its bodies lasted. */
  const run = async (side: Side, name: string, connections: number, seconds: number) => {
    let result = await once(side, name, connections, seconds);
    for (let retry = 1; retry <= 2 && result.ranOut > 0; retry++) {
      log(`${workload.name} c=${connections} ${name}: ran out of prepared bodies, again with more`);
      rates.set(`${name}/${connections}`, result.perSecond * 2);
      result = await once(side, name, connections, seconds);
    }
    return result;
  };
  for (const connections of options.concurrencies) {
    await once(workload.baseline, "baseline", connections, options.warmup);
    await once(workload.keyport, "keyport", connections, options.warmup);
  }
  const comparisons = options.concurrencies.map(
    (connections): Comparison => ({ workload, connections, rounds: [], problems: [] }),
  );
  for (let round = 1; round <= options.rounds; round++) {
    for (const comparison of comparisons) {
      const { connections } = comparison;
      const measure = async (name: "baseline" | "keyport") => {
        const side = workload[name];
        const result = await run(side, name, connections, options.seconds);
        const problem = result.failures > 0 ? result.failureDetail : await side.verify?.(result);
        if (problem)
          comparison.problems.push(`${name} c=${connections} round ${round}: ${problem}`);
        const rss = result.rssMiB ? `, RSS ${result.rssMiB.toFixed(0)} MiB` : "";
        const cpu = result.cpuMicrosPerRequest
          ? `, CPU ${result.cpuMicrosPerRequest.toFixed(0)} µs/req`
          : "";
        log(
          `${workload.name} c=${connections} round ${round} ${name}: ${result.perSecond.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms${rss}${cpu}${problem ? `  FAILED: ${problem}` : ""}`,
        );
        return result;
      };
      const baseline = await measure("baseline");
      const keyport = await measure("keyport");
      comparison.rounds.push({ baseline, keyport });
    }
  }
  return comparisons;
}
