/**
 * The first thing a service runs: it opens the port at once, then loads and connects the rest.
 *
 * Most of a cold start is loading modules (Hono, zod, pino, prom-client, the store drivers) and
 * connecting to the stores. This shell imports none of that, so the port is open within a few
 * milliseconds of the runtime's own start. While the service starts:
 * - `GET /health` (liveness: the process is up and serving) answers 200, as it will afterwards;
 * - `GET /health/ready` answers 503 with `meta.status` `starting`, so no balancer sends traffic;
 * - every other request waits for the service and is then served by it, unchanged.
 * A start-up failure still exits 1 with one line. Those early requests are logged once the
 * service's log exists.
 *
 * After start-up it serves until SIGINT/SIGTERM, then stops accepting, lets in-flight requests
 * finish (bounded), closes the adapters and exits 0.
 *
 * A second after start-up, it hands start-up's garbage back to the system once (releaseMemory in
 * memory.ts): V8 grows its heap while modules load and keeps the pages until its memory reducer
 * runs, ~30 s into idleness. Measured on inventory on FerretDB (2026-12-02, idle, 2 s after ready,
 * 3 starts each): 101–102 → 92–93 MB RSS, for one ~60 ms pause.
 */
import type { EventLog } from "@stockroom/kernel";
import { REQUEST_ID_HEADER, requestIdFrom } from "@stockroom/kernel";

export const JSONAPI_MEDIA_TYPE = "application/vnd.api+json";
/** How long after start-up its garbage is handed back (see above). */
const RELEASE_MEMORY_AFTER_MS = 1000;

/** What a service's composition root hands over once it is loaded, configured and connected. */
export interface StartedService {
  fetch: (request: Request) => Response | Promise<Response>;
  port: number;
  log: EventLog;
  /** Writes out buffered log lines (called before exit). */
  flush(): Promise<void>;
  /** Called once the server has stopped accepting and in-flight requests are done. */
  onClose: () => Promise<void>;
}

export interface BootOptions {
  /** The service's name, as `/health` reports it. */
  name: string;
  /** The port when `PORT` is unset; the configuration parser must agree. */
  defaultPort: number;
  /**
   * Loads, configures and connects the service (a start-up error exits 1 with one line).
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

/** `GET /health`'s answer, from the boot shell while starting and from the service after. */
export function livenessDocument(service: string): { meta: { status: "ok"; service: string } } {
  return { meta: { status: "ok", service } };
}

/**
 * The port the configuration will settle on, read without loading the configuration parser: the
 * same rule as `PORT` in config.ts (`Number()`, an integer 1–65535, empty means unset). Anything
 * else is left to the parser, which stops start-up with its one-line message.
 */
export function portFromEnv(
  env: Record<string, string | undefined>,
  defaultPort: number,
): number | undefined {
  const raw = env.PORT;
  if (raw === undefined || raw === "") return defaultPort;
  const port = Number(raw);
  return Number.isInteger(port) && port >= 1 && port <= 65_535 ? port : undefined;
}

/** Lets the event loop run, so a request that has arrived is answered, before going on. */
function breather(): Promise<void> {
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

interface EarlyRequest {
  request_id: string;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
}

function early(requestId: string, status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { [REQUEST_ID_HEADER]: requestId, "Content-Type": JSONAPI_MEDIA_TYPE },
  });
}

/** Listens now, starts the service behind it, and handles shutdown signals. */
export function boot(options: BootOptions): BootedServer {
  const env = options.env ?? Deno.env.toObject();
  let service: StartedService | undefined;
  let draining = false;
  const earlyRequests: EarlyRequest[] = [];
  let releaseTimer: ReturnType<typeof setTimeout> | undefined;

  const answerWhileStarting = async (request: Request): Promise<Response> => {
    const began = performance.now();
    const path = new URL(request.url).pathname;
    const requestId = requestIdFrom(request.headers.get(REQUEST_ID_HEADER));
    let response: Response;
    if (request.method === "GET" && path === "/health") {
      response = early(requestId, 200, livenessDocument(options.name));
    } else if (request.method === "GET" && path === "/health/ready") {
      response = early(requestId, 503, { meta: { status: "starting", service: options.name } });
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
    if (service) service.log.info(line, "request completed");
    else earlyRequests.push(line);
    return response;
  };

  const handler = (request: Request): Response | Promise<Response> =>
    service ? service.fetch(request) : answerWhileStarting(request);

  const listen = (port: number) => Deno.serve({ port, onListen: () => {} }, handler);

  const quickPort = portFromEnv(env, options.defaultPort);
  let server = quickPort === undefined ? undefined : listen(quickPort);

  // Handlers run only once boot() has returned, so `ready` is set by the time one needs it.
  const ready = options.start(() => draining).catch((err) => {
    console.error(`${options.name}: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }).then((s) => {
    // The configuration has the last word on the port; the quick read only ever agrees with it.
    if (!server || s.port !== quickPort) {
      void server?.shutdown();
      server = listen(s.port);
    }
    service = s;
    s.log.info({ port: s.port }, "server.listening");
    releaseTimer = setTimeout(async () => {
      (await import("./memory.ts")).releaseMemory();
    }, RELEASE_MEMORY_AFTER_MS);
    Deno.unrefTimer(releaseTimer);
    for (const line of earlyRequests.splice(0)) s.log.info({ ...line }, "request completed");
    return s;
  });

  const stop = async (signal: string) => {
    if (draining) return;
    draining = true;
    const drained = sleep(options.drainMs ?? 4000);
    // Requests that arrived while starting are waiting for the service: let it finish starting
    // (within the drain time) and serve them, rather than cut their connections.
    const s = service ?? await Promise.race([ready, drained.then(() => undefined)]);
    if (!s) Deno.exit(0); // It never finished starting: nothing was served or applied.
    s.log.info({ signal }, "server.draining");
    const began = performance.now();
    await Promise.race([server!.shutdown(), drained]);
    const drainMs = Math.round(performance.now() - began);
    try {
      await s.onClose();
    } catch (err) {
      s.log.error({ err }, "server.close_failed");
    }
    s.log.info(
      { drain_ms: drainMs, close_ms: Math.round(performance.now() - began) - drainMs },
      "server.stopped",
    );
    // The log writes in batches: let it finish (bounded) before exiting.
    await Promise.race([s.flush(), sleep(500)]);
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
      clearTimeout(releaseTimer);
      await server?.shutdown();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
