import type { Comparison } from "./compare.js";
import type { WrkResult } from "./wrk.js";

/**
 * The comparisons as a Markdown table, columns padded as Biome formats them: absolute figures are
 * the mean of the rounds; the ratio and the added p50 show the mean and, over several rounds,
 * their range (lowest–highest), so the spread of a noisy machine stays in view. The measured side
 * is Keyport except in a floor's rows, where it is the bare server the row names.
 */
export function markdownTable(comparisons: readonly Comparison[]): string {
  const header = [
    "workload (wrk -t1)",
    "conns",
    "baseline req/s (p50 / p99)",
    "measured req/s (p50 / p99)",
    "ratio",
    "added p50",
    "measured RSS",
    "measured CPU/req",
  ];
  const rows = comparisons.map((comparison) => {
    const { rounds } = comparison;
    const baseline = rounds.map((round) => round.baseline);
    const keyport = rounds.map((round) => round.keyport);
    const ratios = rounds.map((round) => round.keyport.perSecond / round.baseline.perSecond);
    const added = rounds.map((round) => round.keyport.p50Ms - round.baseline.p50Ms);
    const rss = Math.max(...keyport.map((result) => result.rssMiB ?? 0));
    const cpu = keyport.map((result) => result.cpuMicrosPerRequest ?? 0);
    return [
      `${comparison.workload.name} vs ${comparison.workload.baselineName}`,
      String(comparison.connections),
      figures(baseline),
      figures(keyport),
      spread(ratios, (value) => value.toFixed(2), "×"),
      spread(added, (value) => `${value >= 0 ? "+" : ""}${value.toFixed(2)}`, " ms"),
      rss > 0 ? `${rss.toFixed(0)} MiB` : "",
      cpu.every((value) => value > 0) ? spread(cpu, (value) => value.toFixed(0), " µs") : "",
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  return [
    line(header),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.map((row) => line(row)),
  ].join("\n");
}

function figures(results: readonly WrkResult[]): string {
  const mean = (pick: (result: WrkResult) => number) =>
    results.reduce((sum, result) => sum + pick(result), 0) / results.length;
  const rate = Math.round(mean((result) => result.perSecond));
  const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));
  return `${rate} (${ms(mean((result) => result.p50Ms))} / ${ms(mean((result) => result.p99Ms))} ms)`;
}

function spread(
  values: readonly number[],
  format: (value: number) => string,
  unit: string,
): string {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  if (values.length < 2) return `${format(mean)}${unit}`;
  return `${format(mean)}${unit} (${format(Math.min(...values))} to ${format(Math.max(...values))})`;
}
