import type * as Prom from "prom-client";
// The parts we use, not the package's index: that also loads the Pushgateway (node:http,
// node:https) and the cluster aggregator, which made prom-client a third of a cold start.
import CounterClass from "prom-client/lib/counter.js";
import GaugeClass from "prom-client/lib/gauge.js";
import RegistryClass from "prom-client/lib/registry.js";
import collectDefaultMetrics from "prom-client/lib/defaultMetrics.js";

const client = {
  Counter: CounterClass as unknown as typeof Prom.Counter,
  Gauge: GaugeClass as unknown as typeof Prom.Gauge,
  Registry: RegistryClass as unknown as typeof Prom.Registry,
  collectDefaultMetrics: collectDefaultMetrics as unknown as typeof Prom.collectDefaultMetrics,
};

export type Counter = Prom.Counter<string>;

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One label set's request count and duration histogram. */
export interface RequestSeries {
  readonly labels: Readonly<Record<string, string>>;
  count: number;
  sum: number;
  /** Per bucket, not cumulative; the last is +Inf. */
  readonly buckets: Float64Array;
}

/**
 * `http_requests_total` and `http_request_duration_seconds`, recorded into plain per-series fields
 * and shaped for prom-client's registry only when scraped. prom-client's own Counter and Histogram
 * validate and hash the labels on every update, which was 5 % of a cached read's CPU; the registry
 * still renders both, next to every other metric.
 */
export class RequestMetrics {
  readonly #series = new Map<string, RequestSeries>();

  constructor(registry: Prom.Registry) {
    const all = () => [...this.#series.values()];
    registry.registerMetric({
      name: "http_requests_total",
      help: "HTTP requests by method, route template and status",
      type: "counter",
      get: () => ({
        name: "http_requests_total",
        help: "HTTP requests by method, route template and status",
        type: "counter",
        aggregator: "sum",
        values: all().map((s) => ({ labels: s.labels, value: s.count })),
      }),
    } as unknown as Prom.Metric);
    registry.registerMetric({
      name: "http_request_duration_seconds",
      help: "HTTP request duration by method, route template and status",
      type: "histogram",
      get: () => ({
        name: "http_request_duration_seconds",
        help: "HTTP request duration by method, route template and status",
        type: "histogram",
        aggregator: "sum",
        values: all().flatMap(histogramValues),
      }),
    } as unknown as Prom.Metric);
  }

  /** The series for these labels, made on first use. */
  series(method: string, route: string, status: number): RequestSeries {
    const key = `${method} ${route} ${status}`;
    let series = this.#series.get(key);
    if (!series) {
      series = {
        labels: { method, route, status: String(status) },
        count: 0,
        sum: 0,
        buckets: new Float64Array(DURATION_BUCKETS.length + 1),
      };
      this.#series.set(key, series);
    }
    return series;
  }

  /** Counts one request that took `seconds`. */
  static record(series: RequestSeries, seconds: number): void {
    series.count++;
    series.sum += seconds;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    series.buckets[i]!++;
  }
}

/** Prometheus's cumulative `_bucket` lines, then `_sum` and `_count`, as prom-client writes them. */
function histogramValues(series: RequestSeries) {
  const name = "http_request_duration_seconds";
  let cumulative = 0;
  const values = DURATION_BUCKETS.map((le, i) => {
    cumulative += series.buckets[i]!;
    return { metricName: `${name}_bucket`, labels: { ...series.labels, le }, value: cumulative };
  });
  values.push({
    metricName: `${name}_bucket`,
    labels: { ...series.labels, le: "+Inf" as unknown as number },
    value: series.count,
  });
  return [
    ...values,
    { metricName: `${name}_sum`, labels: series.labels, value: series.sum },
    { metricName: `${name}_count`, labels: series.labels, value: series.count },
  ];
}

/** One registry per app, so tests and several apps in one process never share counts. */
export class Metrics {
  readonly registry: Prom.Registry = new client.Registry();
  readonly requests: RequestMetrics;

  constructor(service: string, options: { processMetrics?: boolean } = {}) {
    this.registry.setDefaultLabels({ service });
    this.requests = new RequestMetrics(this.registry);
    if (options.processMetrics ?? true) {
      client.collectDefaultMetrics({ register: this.registry });
    }
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** A gauge whose value is read from `read` at each scrape, per label set. */
  gauge(
    name: string,
    help: string,
    labelNames: string[],
    read: () => { labels: Record<string, string>; value: number }[],
  ): void {
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        for (const { labels, value } of read()) this.set(labels, value);
      },
    });
  }

  /** Prometheus text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
