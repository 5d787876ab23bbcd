import type { Context } from "hono";
import { routePath } from "hono/route";
import type * as Prom from "prom-client";
// The parts we use, not the package's index: that also loads the Pushgateway (node:http,
// node:https) and the cluster aggregator, which made prom-client a third of a cold start.
import CounterClass from "prom-client/lib/counter.js";
import HistogramClass from "prom-client/lib/histogram.js";
import RegistryClass from "prom-client/lib/registry.js";
import collectDefaultMetrics from "prom-client/lib/defaultMetrics.js";
import type { AppEnv } from "./app_env.ts";

const client = {
  Counter: CounterClass as unknown as typeof Prom.Counter,
  Histogram: HistogramClass as unknown as typeof Prom.Histogram,
  Registry: RegistryClass as unknown as typeof Prom.Registry,
  collectDefaultMetrics: collectDefaultMetrics as unknown as typeof Prom.collectDefaultMetrics,
};

export type Counter = Prom.Counter<string>;
export type Histogram = Prom.Histogram<string>;

/** One registry per app, so tests and several apps in one process never share counts. */
export class Metrics {
  readonly registry: Prom.Registry = new client.Registry();
  readonly httpRequests: Counter;
  readonly httpDuration: Histogram;

  constructor(service: string, options: { processMetrics?: boolean } = {}) {
    this.registry.setDefaultLabels({ service });
    this.httpRequests = this.counter(
      "http_requests_total",
      "HTTP requests by method, route template and status",
      ["method", "route", "status"],
    );
    this.httpDuration = new client.Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration by method, route template and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    if (options.processMetrics ?? true) {
      client.collectDefaultMetrics({ register: this.registry });
    }
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** Prometheus text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Counts and times a completed request under its route template (`/products/:id`), never the raw
 * path, and methods outside the standard few as `OTHER`, so the number of series stays bounded
 * whatever clients send. Each series' children are looked up once and kept: prom-client would
 * otherwise hash the label object on every update. The access log calls it, so both share one
 * clock.
 */
export function requestRecorder(
  metrics: Metrics,
): (c: Context<AppEnv>, durationMs: number) => void {
  const series = new Map<string, { count: () => void; observe: (seconds: number) => void }>();
  return (c, durationMs) => {
    const template = routePath(c);
    const route = template === "" || template.endsWith("*") ? "unmatched" : template;
    const method = STANDARD_METHODS.has(c.req.method) ? c.req.method : "OTHER";
    const status = c.res.status;
    const key = `${method} ${route} ${status}`;
    let children = series.get(key);
    if (!children) {
      const labels = { method, route, status: String(status) };
      const counter = metrics.httpRequests.labels(labels);
      const histogram = metrics.httpDuration.labels(labels);
      children = { count: () => counter.inc(), observe: (s) => histogram.observe(s) };
      series.set(key, children);
    }
    children.count();
    children.observe(durationMs / 1000);
  };
}
