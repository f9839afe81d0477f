/**
 * Start-up time of the installed `keyport` bin against a bare `node -e ""` measured in the same
 * run, interleaved so that both see the same machine load. Packs and installs the tarballs into
 * an empty project first, exactly as test/installed does, then times whole processes.
 *
 * Run: npm run bench:cli-start [-- RUNS]          (default 40 runs of each, after 3 warm-ups)
 */
import { spawnSync } from "node:child_process";
import { packAndInstall } from "../test/installed/support/install.js";

interface Subject {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly times: number[];
}

const runs = Number(process.argv[2] ?? 40);
if (!Number.isInteger(runs) || runs < 5) throw new Error("RUNS must be an integer >= 5");

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Runs a subject once; the wall time of the whole process, in milliseconds. */
function time(subject: Subject, cwd: string): number {
  const started = performance.now();
  const result = spawnSync(subject.command, subject.args, { cwd, stdio: "ignore" });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${subject.name} exited ${result.status}`);
  return elapsed;
}

const project = await packAndInstall();
console.log(
  `installed the tarballs into ${project.dir} (${(project.installMs / 1000).toFixed(1)} s); ` +
    `Node ${process.version}, ${runs} runs each, interleaved\n`,
);
const subjects: Subject[] = [
  { name: 'node -e ""', command: process.execPath, args: ["-e", ""], times: [] },
  { name: "keyport --help", command: project.bin, args: ["--help"], times: [] },
  { name: "keyport --version", command: project.bin, args: ["--version"], times: [] },
];
try {
  for (let i = 0; i < 3; i++) for (const subject of subjects) time(subject, project.dir);
  for (let i = 0; i < runs; i++) {
    for (const subject of subjects) subject.times.push(time(subject, project.dir));
  }
} finally {
  project.remove();
}

const [bare] = subjects;
const bareMedian = percentile(
  [...(bare?.times ?? [])].sort((a, b) => a - b),
  50,
);
console.log("command               median ms   p90 ms   min ms   × bare node (median)");
for (const subject of subjects) {
  const sorted = [...subject.times].sort((a, b) => a - b);
  const median = percentile(sorted, 50);
  console.log(
    `${subject.name.padEnd(20)} ${median.toFixed(1).padStart(10)} ${percentile(sorted, 90)
      .toFixed(1)
      .padStart(8)} ${(sorted[0] ?? NaN).toFixed(1).padStart(8)} ${(median / bareMedian)
      .toFixed(2)
      .padStart(10)}`,
  );
}
