import { z } from "zod";
import {
  type CommonConfig,
  commonEnv,
  ConfigError,
  configMessage,
  optionalUrl,
  parseEnv,
} from "@stockroom/runtime/config";

import { SERVICE } from "./service.ts";

const productsEnv = {
  ...commonEnv,
  DATABASE_URL: optionalUrl(/^postgres(ql)?$/),
  UPSTASH_REDIS_REST_URL: optionalUrl(/^https?$/),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1).optional(),
  CACHE_TTL_SECONDS: z.coerce.number().int().min(0).max(86_400 * 30).default(300),
  CACHE_L1_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(2),
};

export interface ProductsConfig extends CommonConfig {
  /** PostgreSQL; the embedded PGlite when absent. */
  databaseUrl?: string;
  /** The shared cache; an in-process LRU when absent. */
  upstash?: { url: string; token: string };
  /** 0 turns the cache off. */
  cacheTtlSeconds: number;
  /** In-process tier in front of Upstash: how stale a read may be across instances; 0 = off. */
  cacheL1TtlSeconds: number;
}

/** The products service's configuration, from the environment. */
export function productsConfig(env: Record<string, string | undefined>): ProductsConfig {
  const { env: e, common } = parseEnv(productsEnv, env, SERVICE.defaultPort);
  // Deploy's file system is read-only, so the embedded PGlite cannot keep its data there.
  if (common.onDeploy && !e.DATABASE_URL) {
    throw new ConfigError(configMessage("DATABASE_URL", "required on Deno Deploy"));
  }
  if (Boolean(e.UPSTASH_REDIS_REST_URL) !== Boolean(e.UPSTASH_REDIS_REST_TOKEN)) {
    const missing = e.UPSTASH_REDIS_REST_URL
      ? "UPSTASH_REDIS_REST_TOKEN"
      : "UPSTASH_REDIS_REST_URL";
    throw new ConfigError(configMessage(missing, "required with the other Upstash variable"));
  }
  return {
    ...common,
    databaseUrl: e.DATABASE_URL,
    upstash: e.UPSTASH_REDIS_REST_URL && e.UPSTASH_REDIS_REST_TOKEN
      ? { url: e.UPSTASH_REDIS_REST_URL, token: e.UPSTASH_REDIS_REST_TOKEN }
      : undefined,
    cacheTtlSeconds: e.CACHE_TTL_SECONDS,
    cacheL1TtlSeconds: e.CACHE_L1_TTL_SECONDS,
  };
}
