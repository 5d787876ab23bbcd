/**
 * Speed trick (cold start, P5): what a service loads after the boot shell has opened its port, in
 * small `import()` steps with a breather before each (see `importInSteps`). Evaluating a module
 * graph is synchronous, so one big import would hold an early liveness probe for all of it; in
 * steps a probe waits for one step at most. A later static import finds these modules loaded.
 */
import { importInSteps } from "./boot.ts";

type Step = () => Promise<unknown>;

const STEPS = {
  /** The HTTP stack every service loads, smallest steps first. */
  stack: [
    () => import("hono"),
    () => import("@opentelemetry/api"),
    () => import("node:events"),
    () => import("node:stream"),
    () => import("node:fs"),
    () => import("node:worker_threads"),
    () => import("zod"),
    () => import("pino"),
    () => import("./metrics.ts"),
  ],
  /** postgres.js and the Node modules it evaluates first. */
  postgres: [
    () => import("node:net"),
    () => import("node:tls"),
    () => import("node:crypto"),
    () => import("postgres"),
  ],
  /** The MongoDB driver and the Node modules it evaluates first. */
  mongodb: [
    () => import("node:net"),
    () => import("node:tls"),
    () => import("node:zlib"),
    () => import("node:crypto"),
    () => import("node:dns"),
    () => import("mongodb"),
  ],
  upstash: [() => import("@upstash/redis")],
} satisfies Record<string, Step[]>;

/** Loads one group of modules in steps. */
export function loadInSteps(group: keyof typeof STEPS): Promise<void> {
  return importInSteps(STEPS[group]);
}
