import { z } from "zod";
import { DEFAULT_PORTS, type ServiceName } from "./boot.ts";

/** The development key, accepted only outside production, with a warning at start-up. */
export const DEV_API_KEY = "dev-api-key";

export type { ServiceName };

const optionalUrl = z.url({ protocol: /^(https?|postgres(ql)?|mongodb(\+srv)?)$/ }).optional();

const envSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  DENO_ENV: z.string().optional(),
  DENO_DEPLOYMENT_ID: z.string().optional(),
  API_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  DATABASE_URL: optionalUrl,
  UPSTASH_REDIS_REST_URL: z.url({ protocol: /^https?$/ }).optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
  CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(86_400 * 30).default(300),
  CACHE_L1_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(2),
  MONGODB_URL: optionalUrl,
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, "must be a MongoDB database name")
    .default("inventory"),
  PRODUCTS_SERVICE_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8001"),
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default(
    "info",
  ),
});

export interface Config {
  service: ServiceName;
  port: number;
  production: boolean;
  apiKey: string;
  /** True when no API_KEY was given and the development key is in use. */
  usingDevApiKey: boolean;
  databaseUrl?: string;
  upstash?: { url: string; token: string };
  cacheTtlSeconds: number;
  /** In-process tier in front of Upstash: how stale a read may be across instances; 0 = off. */
  cacheL1TtlSeconds: number;
  mongodbUrl?: string;
  mongodbDb: string;
  productsServiceUrl: string;
  logLevel: z.infer<typeof envSchema>["LOG_LEVEL"];
}

/** Thrown for configuration that must stop start-up; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment. Empty strings count as unset, so `FOO=` in a shell or compose file
 * behaves like leaving FOO out.
 */
export function parseConfig(
  service: ServiceName,
  env: Record<string, string | undefined>,
): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in envSchema.shape && value !== ""),
  );
  const result = envSchema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    throw new ConfigError(`Invalid configuration: ${variable}: ${issue.message}`);
  }
  const e = result.data;
  const production = e.DENO_ENV === "production" || e.DENO_DEPLOYMENT_ID !== undefined;
  if (production && !e.API_KEY) {
    throw new ConfigError("Invalid configuration: API_KEY: required in production");
  }
  // Deploy's file system is read-only, so the embedded PGlite cannot keep its data there.
  if (service === "products" && e.DENO_DEPLOYMENT_ID !== undefined && !e.DATABASE_URL) {
    throw new ConfigError("Invalid configuration: DATABASE_URL: required on Deno Deploy");
  }
  if (Boolean(e.UPSTASH_REDIS_REST_URL) !== Boolean(e.UPSTASH_REDIS_REST_TOKEN)) {
    const missing = e.UPSTASH_REDIS_REST_URL
      ? "UPSTASH_REDIS_REST_TOKEN"
      : "UPSTASH_REDIS_REST_URL";
    throw new ConfigError(
      `Invalid configuration: ${missing}: required with the other Upstash variable`,
    );
  }
  return {
    service,
    port: e.PORT ?? DEFAULT_PORTS[service],
    production,
    apiKey: e.API_KEY ?? DEV_API_KEY,
    usingDevApiKey: !e.API_KEY,
    databaseUrl: e.DATABASE_URL,
    upstash: e.UPSTASH_REDIS_REST_URL && e.UPSTASH_REDIS_REST_TOKEN
      ? { url: e.UPSTASH_REDIS_REST_URL, token: e.UPSTASH_REDIS_REST_TOKEN }
      : undefined,
    cacheTtlSeconds: e.CACHE_TTL_SECONDS,
    cacheL1TtlSeconds: e.CACHE_L1_TTL_SECONDS,
    mongodbUrl: e.MONGODB_URL,
    mongodbDb: e.MONGODB_DB,
    productsServiceUrl: e.PRODUCTS_SERVICE_URL.replace(/\/+$/, ""),
    logLevel: e.LOG_LEVEL,
  };
}
