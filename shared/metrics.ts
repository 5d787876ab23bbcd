import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import client from "prom-client";
import type { AppEnv } from "./app_env.ts";

export type Counter = client.Counter<string>;
export type Histogram = client.Histogram<string>;

/** One registry per app, so tests and several apps in one process never share counts. */
export class Metrics {
  readonly registry: client.Registry = new client.Registry();
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

/**
 * Counts and times every request under its route template (`/products/:id`), never the raw path,
 * so the number of series stays bounded whatever clients send.
 */
export function requestMetrics(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async function requestMetrics(c, next) {
    const started = performance.now();
    await next();
    const template = routePath(c);
    const labels = {
      method: c.req.method,
      route: template === "" || template.endsWith("*") ? "unmatched" : template,
      status: String(c.res.status),
    };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
  };
}
