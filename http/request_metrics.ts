import type { Context } from "hono";
import { routePath } from "hono/route";
import { type Metrics, RequestMetrics } from "@stockroom/runtime/metrics";
import type { AppEnv } from "./env.ts";

const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Counts and times a completed request under its route template (`/products/:id`), never the raw
 * path, and methods outside the standard few as `OTHER`, so the number of series stays bounded
 * whatever clients send. The access log calls it, so both share one clock.
 */
export function requestRecorder(
  metrics: Metrics,
): (c: Context<AppEnv>, durationMs: number) => void {
  return (c, durationMs) => {
    const template = routePath(c);
    const route = template === "" || template.endsWith("*") ? "unmatched" : template;
    const method = STANDARD_METHODS.has(c.req.method) ? c.req.method : "OTHER";
    const series = metrics.requests.series(method, route, c.res.status);
    RequestMetrics.record(series, durationMs / 1000);
  };
}
