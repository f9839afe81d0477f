import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** How a code exchange ended, as `keyport_exchanges_total{outcome}` counts it. */
export type ExchangeOutcome =
  | "ok"
  | "invalid"
  | "expired"
  | "replay"
  | "bad_request"
  | "rate_limited"
  | "error";

/** Request durations, in seconds: from a fast JSON answer to a long stream. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * Keyport's Prometheus metrics, in a registry of their own (two apps in one process do not
 * share counters): requests and their latency by route pattern, method and status; code
 * exchanges by outcome; credits charged by model; upstream errors by upstream and the status
 * answered; reservations in flight; and Node's process metrics. Labels only take bounded
 * values (route patterns, configured models and upstreams), never ids or paths.
 * @example
 * const metrics = new Metrics();
 * metrics.exchange("ok");
 * const text = await metrics.registry.metrics();
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "keyport_http_requests_total",
    help: "HTTP requests answered, by route pattern, method and status.",
    labelNames: ["route", "method", "status"],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: "keyport_http_request_duration_seconds",
    help: "Time from a request's arrival to its answer's last byte, by route pattern, method and status.",
    labelNames: ["route", "method", "status"],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly exchanges = new Counter({
    name: "keyport_exchanges_total",
    help: "Code exchanges (POST /api/v1/auth/keys) by outcome.",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  private readonly spend = new Counter({
    name: "keyport_gateway_spend_credits_total",
    help: "Credits charged to keys by the gateway, by model.",
    labelNames: ["model"],
    registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: "keyport_upstream_errors_total",
    help: "Upstream failures answered to clients before a stream began, by upstream and the status answered.",
    labelNames: ["upstream", "status"],
    registers: [this.registry],
  });
  private readonly reservationSources: (() => number)[] = [];

  constructor() {
    const sources = this.reservationSources;
    new Gauge({
      name: "keyport_reservations_in_flight",
      help: "Budget reservations this process holds for requests in flight.",
      registers: [this.registry],
      collect() {
        this.set(sources.reduce((sum, source) => sum + source(), 0));
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: "keyport_" });
  }

  /** One answered request. */
  request(route: string, method: string, status: number, seconds: number): void {
    const labels = { route, method, status: String(status) };
    this.requests.inc(labels);
    this.latency.observe(labels, seconds);
  }

  exchange(outcome: ExchangeOutcome): void {
    this.exchanges.inc({ outcome });
  }

  /** Credits (in micro-credits) charged for a request to `model`. */
  charged(model: string, micros: number): void {
    if (micros > 0) this.spend.inc({ model }, micros / 1_000_000);
  }

  upstreamError(upstream: string, status: number): void {
    this.upstreamErrors.inc({ upstream, status: String(status) });
  }

  /** Adds a count of reservations held (a meter's) to the in-flight gauge. */
  countReservations(source: () => number): void {
    this.reservationSources.push(source);
  }
}
