// The top self-time entries of V8 CPU profiles (from BENCH_CPU_PROFILE=DIR npm run bench), by
// function and file, as shares of the profile's samples excluding idle time.
// Run: node --import tsx bench/profile-top.ts DIR/*.cpuprofile [count]
import { readFileSync } from "node:fs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const files = process.argv.slice(2).filter((arg) => arg.endsWith(".cpuprofile"));
const count = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 25);
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const frame = nodes.get(id)?.callFrame;
    if (!frame) return;
    const where = frame.url
      ? ` ${frame.url.replace(/^.*node_modules\//, "").replace(/^.*\/src\//, "src/")}:${frame.lineNumber + 1}`
      : "";
    const name = `${frame.functionName || "(anonymous)"}${where}`;
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  self.delete("(idle)");
  const total = [...self.values()].reduce((sum, time) => sum + time, 0);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s of CPU samples (idle excluded)`);
  for (const [name, time] of [...self].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`${((100 * time) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
}
