import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../wrk/post.lua", import.meta.url));

/** One wrk run: POSTs to `url` for `seconds` over `connections` keep-alive connections. */
export interface WrkRun {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  /** A file holding the body every request sends. */
  readonly bodyFile?: string;
  /** A file of bodies, one a line, each sent once (single-use codes). */
  readonly bodiesFile?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A server process whose resident memory is sampled during the run. */
  readonly watchPid?: number;
}

/** What one run measured. Latencies are wrk's (HdrHistogram, microsecond resolution). */
export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers, socket errors and timeouts, and requests past the last prepared body. */
  readonly failures: number;
  readonly failureDetail: string;
  /** Requests sent past the last of `bodiesFile`'s bodies (counted in `failures` too). */
  readonly ranOut: number;
  /** Peak resident set of `watchPid` while the run lasted (MiB), sampled every 100 ms. */
  readonly rssMiB?: number;
  /**
   * CPU time (user + system, all its threads) `watchPid` spent per request during the run, in
   * microseconds: what the server's work costs, less swayed by the rest of the machine's load
   * than the rate is.
   */
  readonly cpuMicrosPerRequest?: number;
}

/**
 * Runs wrk with one thread (one Lua state, so a file of single-use bodies is read once and each
 * line sent once) and the bench's Lua script, whose `done()` reports counts and percentiles.
 */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const args = [
    "-t1",
    `-c${run.connections}`,
    `-d${run.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    SCRIPT,
    ...Object.entries({ "Content-Type": "application/json", ...run.headers }).flatMap(
      ([name, value]) => ["-H", `${name}: ${value}`],
    ),
    run.url,
  ];
  const env = {
    ...process.env,
    ...(run.bodyFile && { BENCH_BODY_FILE: run.bodyFile }),
    ...(run.bodiesFile && { BENCH_BODIES_FILE: run.bodiesFile }),
  };
  const sampler = run.watchPid === undefined ? undefined : new ProcessSampler(run.watchPid);
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile("wrk", args, { env, maxBuffer: 1 << 20 }, (error, out, err) => {
      if (error) reject(new Error(`wrk failed: ${error.message}\n${err}`));
      else resolve(out);
    });
  });
  const usage = sampler?.stop();
  const line = stdout.split("\n").find((text) => text.startsWith("BENCH_RESULT "));
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  const raw = JSON.parse(line.slice("BENCH_RESULT ".length)) as Record<string, number>;
  const count = (name: string) => raw[name] ?? 0;
  const seconds = count("duration_us") / 1e6;
  const problems = {
    "non-2xx": count("non2xx"),
    connect: count("connect"),
    read: count("read"),
    write: count("write"),
    timeout: count("timeout"),
    "out of prepared bodies": count("ran_out"),
  };
  const failures = Object.values(problems).reduce((sum, n) => sum + n, 0);
  return {
    requests: count("requests"),
    seconds,
    perSecond: count("requests") / seconds,
    p50Ms: count("p50_us") / 1000,
    p99Ms: count("p99_us") / 1000,
    failures,
    failureDetail: Object.entries(problems)
      .filter(([, n]) => n > 0)
      .map(([name, n]) => `${n} ${name}`)
      .join(", "),
    ranOut: count("ran_out"),
    rssMiB: usage?.rssMiB,
    cpuMicrosPerRequest:
      usage && count("requests") > 0 ? (usage.cpuSeconds * 1e6) / count("requests") : undefined,
  };
}

/**
 * Samples a process's resident set (VmRSS) and keeps the peak (VmHWM would include start-up), and
 * reads its CPU time at the start and the end.
 */
class ProcessSampler {
  private peakKiB = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly cpuAtStart: number | undefined;

  constructor(private readonly pid: number) {
    this.cpuAtStart = this.cpuSeconds();
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }

  stop(): { rssMiB: number; cpuSeconds: number } {
    clearInterval(this.timer);
    this.sample();
    const cpuAtEnd = this.cpuSeconds();
    const cpuSeconds =
      this.cpuAtStart === undefined || cpuAtEnd === undefined ? 0 : cpuAtEnd - this.cpuAtStart;
    return { rssMiB: this.peakKiB / 1024, cpuSeconds };
  }

  private sample(): void {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
      this.peakKiB = Math.max(this.peakKiB, rss);
    } catch {
      // the process is gone (or no /proc): the peak so far stands
    }
  }

  /** utime + stime from /proc/PID/stat (fields 14 and 15, after the parenthesised name). */
  private cpuSeconds(): number | undefined {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    } catch {
      return undefined;
    }
  }
}

/** `getconf CLK_TCK`: 100 on Linux for every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
