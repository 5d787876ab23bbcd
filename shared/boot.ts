/**
 * The first thing a service runs: it opens the port at once, then loads and connects the rest.
 *
 * Most of a cold start is loading modules (Hono, zod, pino, prom-client, the store drivers) and
 * connecting to the stores. This shell imports none of that, so the port is open within a few
 * milliseconds of the runtime's own start. While the service starts:
 * - `GET /health` (liveness: the process is up and serving) answers 200, as it will afterwards;
 * - `GET /health/ready` answers 503 with `meta.status` `starting`, so no balancer sends traffic;
 * - every other request waits for the service and is then served by it, unchanged.
 * A start-up failure still exits 1 with one line, as before. Those early requests are logged once
 * the logger is loaded.
 *
 * After start-up it serves until SIGINT/SIGTERM, then stops accepting, lets in-flight requests
 * finish (bounded), closes the adapters and exits 0.
 */
import { JSONAPI_MEDIA_TYPE, livenessDocument } from "./jsonapi.ts";
import { REQUEST_ID_HEADER, requestIdFrom } from "./request_ids.ts";
import { responseWith } from "./respond.ts";

export type ServiceName = "products" | "inventory";

export const DEFAULT_PORTS: Record<ServiceName, number> = { products: 8001, inventory: 8002 };

/** What a service's composition root hands over once it is loaded, configured and connected. */
export interface StartedService {
  fetch: (request: Request) => Response | Promise<Response>;
  port: number;
  logger: {
    info(fields: Record<string, unknown>, message: string): void;
    error(fields: Record<string, unknown>, message: string): void;
    flush(done: () => void): void;
  };
  /** Called once the server has stopped accepting and in-flight requests are done. */
  onClose: () => Promise<void>;
}

export interface BootOptions {
  service: ServiceName;
  /**
   * Loads, configures and connects the service (exiting 1 with one line on a start-up error).
   * `draining` tells the service's readiness route when shutdown has begun.
   */
  start: (draining: () => boolean) => Promise<StartedService>;
  /** In-flight requests get this long after a signal (Deno Deploy kills 5 s after SIGINT). */
  drainMs?: number;
  env?: Record<string, string | undefined>;
  /** Handle SIGINT/SIGTERM (default true; tests that run the shell in-process turn it off). */
  signals?: boolean;
}

export interface BootedServer {
  /** Resolves with the started service (never, if start-up failed: the process exits). */
  started: Promise<StartedService>;
  draining: () => boolean;
  /** Stops listening without exiting (for tests; services stop through signals). */
  close: () => Promise<void>;
}

/**
 * The port the configuration will settle on, read without loading the configuration parser: the
 * same rule as `PORT` in config.ts (`Number()`, an integer 1–65535, empty means unset). Anything
 * else is left to the parser, which stops start-up with its one-line message.
 */
export function portFromEnv(
  service: ServiceName,
  env: Record<string, string | undefined>,
): number | undefined {
  const raw = env.PORT;
  if (raw === undefined || raw === "") return DEFAULT_PORTS[service];
  const port = Number(raw);
  return Number.isInteger(port) && port >= 1 && port <= 65_535 ? port : undefined;
}

interface EarlyRequest {
  request_id: string;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
}

/** Lets the event loop run, so a request that has arrived is answered, before going on. */
export function breather(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Imports modules one at a time with a breather before each. Evaluating a module graph is
 * synchronous, so importing everything at once would hold a liveness probe for the whole of it;
 * in steps, a probe waits for one step at most. A later import finds these already loaded.
 */
export async function importInSteps(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  for (const step of steps) {
    await breather();
    await step();
  }
}

/**
 * What both services load before their own modules, smallest steps first: a probe that arrives
 * just after the port opens waits for a short one. A later import finds these already loaded.
 */
export const sharedStackSteps: readonly (() => Promise<unknown>)[] = [
  () => import("hono"),
  () => import("@opentelemetry/api"),
  () => import("node:events"),
  () => import("node:stream"),
  () => import("node:fs"),
  () => import("node:worker_threads"),
  () => import("zod"),
  () => import("pino"),
  () => import("./metrics.ts"),
  () => import("./mod.ts"),
];

/** Listens now, starts the service behind it, and handles shutdown signals. */
export function boot(options: BootOptions): BootedServer {
  const env = options.env ?? Deno.env.toObject();
  let service: StartedService | undefined;
  let draining = false;
  const early: EarlyRequest[] = [];

  const answerWhileStarting = async (request: Request): Promise<Response> => {
    const began = performance.now();
    const path = new URL(request.url).pathname;
    const requestId = requestIdFrom(request.headers.get(REQUEST_ID_HEADER));
    let response: Response;
    if (request.method === "GET" && path === "/health") {
      response = responseWith(
        requestId,
        200,
        JSON.stringify(livenessDocument(options.service)),
        JSONAPI_MEDIA_TYPE,
      );
    } else if (request.method === "GET" && path === "/health/ready") {
      response = responseWith(
        requestId,
        503,
        JSON.stringify({ meta: { status: "starting", service: options.service } }),
        JSONAPI_MEDIA_TYPE,
      );
    } else {
      return (await ready).fetch(request);
    }
    const line = {
      request_id: requestId,
      method: request.method,
      path,
      status: response.status,
      duration_ms: Math.round((performance.now() - began) * 100) / 100,
    };
    if (service) service.logger.info(line, "request completed");
    else early.push(line);
    return response;
  };

  const handler = (request: Request): Response | Promise<Response> =>
    service ? service.fetch(request) : answerWhileStarting(request);

  const listen = (port: number) => Deno.serve({ port, onListen: () => {} }, handler);

  const quickPort = portFromEnv(options.service, env);
  let server = quickPort === undefined ? undefined : listen(quickPort);

  // Handlers run only once boot() has returned, so `ready` is set by the time one needs it.
  const ready = options.start(() => draining).catch((err) => {
    console.error(`${options.service}: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }).then((s) => {
    // The configuration has the last word on the port; the quick read only ever agrees with it.
    if (!server || s.port !== quickPort) {
      void server?.shutdown();
      server = listen(s.port);
    }
    service = s;
    s.logger.info({ port: s.port }, "server.listening");
    for (const line of early.splice(0)) s.logger.info({ ...line }, "request completed");
    return s;
  });

  const stop = async (signal: string) => {
    if (draining) return;
    draining = true;
    if (!service) Deno.exit(0); // Nothing has been served or opened yet.
    const s = service;
    s.logger.info({ signal }, "server.draining");
    const deadline = new Promise((resolve) => setTimeout(resolve, options.drainMs ?? 4000));
    await Promise.race([server!.shutdown(), deadline]);
    try {
      await s.onClose();
    } catch (err) {
      s.logger.error({ err }, "server.close_failed");
    }
    s.logger.info({}, "server.stopped");
    // The log destination writes in batches: let it finish (bounded) before exiting.
    await Promise.race([
      new Promise<void>((resolve) => s.logger.flush(() => resolve())),
      new Promise((resolve) => setTimeout(resolve, 500)),
    ]);
    Deno.exit(0);
  };
  for (const signal of options.signals === false ? [] : ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => void stop(signal));
    } catch {
      // Not every platform supports every signal (Windows has no SIGTERM).
    }
  }
  return {
    started: ready,
    draining: () => draining,
    close: async () => {
      await server?.shutdown();
    },
  };
}
