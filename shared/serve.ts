import { type Config, parseConfig, type ServiceName } from "./config.ts";
import { createLogger, type Logger } from "./logger.ts";

export interface ServeOptions {
  port: number;
  logger: Logger;
  fetch: (request: Request) => Response | Promise<Response>;
  /** Called once the server has stopped accepting and in-flight requests are done. */
  onClose: () => Promise<void>;
  /** In-flight requests get this long after a signal (Deno Deploy kills 5 s after SIGINT). */
  drainMs?: number;
}

export interface RunningServer {
  draining: () => boolean;
  finished: Promise<void>;
}

/**
 * Serves until SIGINT/SIGTERM, then stops accepting, lets in-flight requests finish (bounded),
 * closes the adapters and exits 0.
 */
export function serve(options: ServeOptions): RunningServer {
  let draining = false;
  const server = Deno.serve({
    port: options.port,
    onListen: ({ hostname, port }) => options.logger.info({ hostname, port }, "server.listening"),
  }, options.fetch);
  const stop = async (signal: string) => {
    if (draining) return;
    draining = true;
    options.logger.info({ signal }, "server.draining");
    const deadline = new Promise((resolve) => setTimeout(resolve, options.drainMs ?? 4000));
    await Promise.race([server.shutdown(), deadline]);
    try {
      await options.onClose();
    } catch (err) {
      options.logger.error({ err }, "server.close_failed");
    }
    options.logger.info({}, "server.stopped");
    // The log destination writes in batches: let it finish (bounded) before exiting.
    await Promise.race([
      new Promise<void>((resolve) => options.logger.flush(() => resolve())),
      new Promise((resolve) => setTimeout(resolve, 500)),
    ]);
    Deno.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => void stop(signal));
    } catch {
      // Not every platform supports every signal (Windows has no SIGTERM).
    }
  }
  return { draining: () => draining, finished: server.finished };
}

/** Prints one line naming the problem and exits 1: the start-up rule for bad configuration. */
export function exitOnStartupError(service: string, err: unknown): never {
  console.error(`${service}: ${err instanceof Error ? err.message : String(err)}`);
  Deno.exit(1);
}

/**
 * Reads the configuration from the environment (exiting with one line if it is invalid) and makes
 * the service's logger, warning when the development API key is in use.
 */
export function loadServiceConfig(service: ServiceName): { config: Config; logger: Logger } {
  let config: Config;
  try {
    config = parseConfig(service, Deno.env.toObject());
  } catch (err) {
    exitOnStartupError(service, err);
  }
  const logger = createLogger(service, { level: config.logLevel });
  if (config.usingDevApiKey) {
    logger.warn({}, "API_KEY is not set: using the development key; never do this in production");
  }
  return { config, logger };
}
