import { z } from "zod";

/** The development key, accepted only outside production, with a warning at start-up. */
export const DEV_API_KEY = "dev-api-key";

/** Thrown for configuration that must stop start-up; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = typeof LOG_LEVELS[number];

/** The variables every service reads; a service adds its own to these. */
export const commonEnv = {
  PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  DENO_ENV: z.string().optional(),
  DENO_DEPLOYMENT_ID: z.string().optional(),
  API_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  STORE_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(1000).optional(),
  STORE_MAX_QUEUE: z.coerce.number().int().min(0).max(100_000).default(512),
  STORE_MAX_WAIT_MS: z.coerce.number().int().min(0).max(10_000).default(1000),
};

/** `http(s)`, `postgres(ql)` or `mongodb(+srv)` URL, optional. */
export const optionalUrl = (protocol: RegExp) => z.url({ protocol }).optional();

/** What every service's configuration holds. */
export interface CommonConfig {
  port: number;
  /** Running on Deno Deploy (read-only file system, managed KV). */
  onDeploy: boolean;
  apiKey: string;
  /** True when no API_KEY was given and the development key is in use. */
  usingDevApiKey: boolean;
  logLevel: LogLevel;
  /** Admission control in front of each store (see runtime/admission.ts). */
  admission: {
    /** Store calls in flight per instance; each service defaults it to its store's pool. */
    maxInFlight?: number;
    maxQueue: number;
    maxWaitMs: number;
  };
}

/**
 * Parses the environment against a service's variables (empty strings count as unset, so `FOO=` in
 * a shell or compose file behaves like leaving FOO out) and derives the common settings. Throws
 * ConfigError with one line naming the first invalid variable, never its value.
 */
export function parseEnv<S extends typeof commonEnv & z.ZodRawShape>(
  shape: S,
  env: Record<string, string | undefined>,
  defaultPort: number,
): { env: z.output<z.ZodObject<S>>; common: CommonConfig } {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in shape && value !== ""),
  );
  const result = z.object(shape).safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(configMessage(String(issue.path[0] ?? "environment"), issue.message));
  }
  const e = result.data as z.output<z.ZodObject<typeof commonEnv>>;
  const onDeploy = e.DENO_DEPLOYMENT_ID !== undefined;
  const production = e.DENO_ENV === "production" || onDeploy;
  if (production && !e.API_KEY) {
    throw new ConfigError(configMessage("API_KEY", "required in production"));
  }
  return {
    env: result.data,
    common: {
      port: e.PORT ?? defaultPort,
      onDeploy,
      apiKey: e.API_KEY ?? DEV_API_KEY,
      usingDevApiKey: !e.API_KEY,
      logLevel: e.LOG_LEVEL,
      admission: {
        maxInFlight: e.STORE_MAX_IN_FLIGHT,
        maxQueue: e.STORE_MAX_QUEUE,
        maxWaitMs: e.STORE_MAX_WAIT_MS,
      },
    },
  };
}

/** The one-line form every configuration error takes. */
export function configMessage(variable: string, problem: string): string {
  return `Invalid configuration: ${variable}: ${problem}`;
}
