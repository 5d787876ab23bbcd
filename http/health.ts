import { Hono } from "hono";
import type { AppEnv } from "./env.ts";
import { livenessDocument } from "@stockroom/runtime/boot";
import { jsonApiResponse } from "./respond.ts";
import { withTimeout } from "@stockroom/kernel";

/** A dependency probe: resolves when the dependency answers, throws otherwise. */
export type HealthCheck = () => Promise<void>;

export interface HealthOptions {
  service: string;
  checks: Record<string, HealthCheck>;
  /** Per-check budget, so a hanging dependency reads as down instead of hanging the probe. */
  timeoutMs?: number;
  /**
   * Dependencies the service degrades around (a cache): reported in `meta`, but their outage
   * does not take the instance out of rotation.
   */
  optional?: readonly string[];
  /** True while the service drains before shutdown: readiness then reports 503. */
  draining?: () => boolean;
}

async function probe(check: HealthCheck, timeoutMs: number): Promise<string> {
  try {
    await withTimeout(check(), timeoutMs, "health check");
    return "up";
  } catch {
    return "down";
  }
}

/** `GET /health` (liveness, no dependency calls) and `GET /health/ready` (every dependency). */
export function healthRoutes(options: HealthOptions): Hono<AppEnv> {
  const timeoutMs = options.timeoutMs ?? 2000;
  return new Hono<AppEnv>()
    .get("/", (c) =>
      jsonApiResponse(
        c,
        200,
        JSON.stringify(livenessDocument(options.service)),
      ))
    .get("/ready", async (c) => {
      const names = Object.keys(options.checks);
      const states = await Promise.all(names.map((n) => probe(options.checks[n]!, timeoutMs)));
      const dependencies = Object.fromEntries(names.map((n, i) => [n, states[i]]));
      const draining = options.draining?.() ?? false;
      const ready = !draining &&
        names.every((n, i) => states[i] === "up" || options.optional?.includes(n));
      return jsonApiResponse(
        c,
        ready ? 200 : 503,
        JSON.stringify({
          meta: {
            status: draining
              ? "draining"
              : !ready
              ? "unavailable"
              : states.every((s) => s === "up")
              ? "ready"
              : "degraded",
            service: options.service,
            dependencies,
          },
        }),
      );
    });
}
