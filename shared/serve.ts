import { type Config, parseConfig, type ServiceName } from "./config.ts";
import { createLogger, type Logger } from "./logger.ts";

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
