import type { UsageOverview, UsageSeries } from "../services/usage-overview.js";
import { DashboardFrame } from "./dashboard-frame.js";
import type { SignedIn } from "./keys-page.js";

/** What the chart script reads from a chart's `data-chart` attribute. */
interface ChartData {
  /** Each day's start, in seconds since the epoch (uPlot's time scale). */
  readonly days: readonly number[];
  readonly series: readonly { readonly name: string; readonly values: readonly number[] }[];
}

const day = (date: Date) => date.toISOString().slice(0, 10);
const amount = (credits: number) => (credits === 0 ? "0" : credits.toFixed(6).replace(/0+$/, ""));

/**
 * `/usage`: spend per UTC day over 30 days, by key and by model. Each chart is drawn by uPlot
 * (served from this server) from the same numbers its table shows; without scripts the tables
 * are the view.
 */
export function UsagePage(props: SignedIn & { usage: UsageOverview }) {
  const { usage } = props;
  return (
    <DashboardFrame
      title="Usage"
      current="usage"
      email={props.email}
      csrfToken={props.csrfToken}
      head={
        <>
          <link rel="stylesheet" href="/assets/uplot.min.css" />
          <script type="module" src="/assets/usage-chart.js" />
        </>
      }
    >
      <h1>Usage</h1>
      <p>
        Last 30 days (UTC): <strong>{amount(usage.totalCredits)} credits</strong> over{" "}
        <strong>{usage.requests}</strong> {usage.requests === 1 ? "request" : "requests"}.
      </p>
      {usage.requests === 0 ? (
        <p class="muted">No requests in the last 30 days: the charts fill in as keys are used.</p>
      ) : null}
      <UsageChart
        id="by-key"
        title="Spend per day, by key"
        days={usage.days}
        series={usage.byKey}
      />
      <UsageChart
        id="by-model"
        title="Spend per day, by model"
        days={usage.days}
        series={usage.byModel}
      />
    </DashboardFrame>
  );
}

function UsageChart(props: {
  id: string;
  title: string;
  days: readonly Date[];
  series: readonly UsageSeries[];
}) {
  const data: ChartData = {
    days: props.days.map((date) => date.getTime() / 1000),
    series: props.series.map((series) => ({ name: series.name, values: series.credits })),
  };
  return (
    <section class="panel" aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`}>{props.title}</h2>
      {props.series.length === 0 ? (
        <p class="muted">Nothing to show yet.</p>
      ) : (
        <>
          <div
            class="chart"
            id={`${props.id}-chart`}
            data-chart={JSON.stringify(data)}
            role="img"
            aria-label={`${props.title}, in credits: a chart of the table below.`}
          />
          <div class="table-wrap">
            <table>
              <caption class="muted">{props.title}, in credits (the chart’s numbers).</caption>
              <thead>
                <tr>
                  <th scope="col">Day (UTC)</th>
                  {props.series.map((series) => (
                    <th scope="col" class="num label-cell">
                      {series.name}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {props.days.map((date, i) => (
                  <tr>
                    <th scope="row">{day(date)}</th>
                    {props.series.map((series) => (
                      <td class="num">{amount(series.credits[i] ?? 0)}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">Total</th>
                  {props.series.map((series) => (
                    <td class="num">{amount(series.total)}</td>
                  ))}
                </tr>
              </tfoot>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
