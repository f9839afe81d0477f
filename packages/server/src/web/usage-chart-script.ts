/**
 * The usage page's script, served from `/assets/usage-chart.js` (CSP `script-src 'self'`): it
 * draws each `[data-chart]` element's numbers with uPlot, itself served from the package at
 * `/assets/uplot.esm.js`. The tables under the charts carry the same numbers without it.
 */
export const USAGE_CHART_SCRIPT = `import uPlot from "/assets/uplot.esm.js";

const COLORS = ["#4a3aff", "#e4572e", "#17a398", "#f3a712", "#a23b72", "#3b8ea5", "#6c757d", "#2e933c"];

for (const element of document.querySelectorAll("[data-chart]")) {
  const data = JSON.parse(element.dataset.chart);
  const options = {
    width: Math.max(280, element.clientWidth),
    height: 300,
    scales: { x: { time: true } },
    axes: [{}, { label: "credits", values: (_, ticks) => ticks.map((v) => String(+v.toFixed(6))) }],
    series: [
      { label: "Day" },
      ...data.series.map((series, i) => ({
        label: series.name,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        points: { show: true, size: 5 },
        value: (_, v) => (v == null ? "-" : String(+v.toFixed(6))),
      })),
    ],
  };
  const plot = new uPlot(options, [data.days, ...data.series.map((s) => s.values)], element);
  element.dataset.drawn = "true";
  new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height: 300 }))
    .observe(element);
}
`;
