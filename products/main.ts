import { exitOnStartupError, loadServiceConfig, serve } from "@stockroom/shared";
import { createProductsApp } from "./app.ts";
import type { ProductCache } from "./domain/ports.ts";
import { LruProductCache } from "./infrastructure/lru_product_cache.ts";
import { migrate } from "./infrastructure/migrate.ts";
import { postgresClient } from "./infrastructure/postgres_client.ts";
import type { SqlClient } from "./infrastructure/sql_client.ts";
import { SqlProductRepository } from "./infrastructure/sql_product_repository.ts";
import { TieredProductCache } from "./infrastructure/tiered_product_cache.ts";
import { UpstashProductCache } from "./infrastructure/upstash_product_cache.ts";

/** Composition root: the only place that chooses adapters, from the environment. */
async function main(): Promise<void> {
  const { config, logger } = loadServiceConfig("products");

  let sql: SqlClient;
  try {
    sql = config.databaseUrl
      ? postgresClient(config.databaseUrl)
      // Loaded only when used: PGlite's WebAssembly costs start-up time a real database need not pay.
      : await (await import("./infrastructure/pglite_client.ts")).pgliteClient(".data/products");
    const applied = await migrate(sql);
    logger.info({
      store: config.databaseUrl ? "postgresql" : "pglite",
      migrations_applied: applied,
    }, "database.ready");
  } catch (err) {
    exitOnStartupError("products", new Error(`Database unavailable: ${(err as Error).message}`));
  }
  const repository = new SqlProductRepository(sql);
  const cache: ProductCache = !config.upstash
    ? new LruProductCache()
    : config.cacheL1TtlSeconds > 0
    ? new TieredProductCache(
      new LruProductCache(),
      new UpstashProductCache(config.upstash),
      config.cacheL1TtlSeconds,
    )
    : new UpstashProductCache(config.upstash);
  logger.info({
    cache: config.cacheTtlSeconds === 0 ? "off" : config.upstash ? "upstash" : "lru",
    cache_ttl_seconds: config.cacheTtlSeconds,
    cache_l1_ttl_seconds: config.upstash ? config.cacheL1TtlSeconds : undefined,
  }, "cache.ready");

  let draining = () => false;
  const app = createProductsApp({
    repository,
    cache,
    cacheTtlSeconds: config.cacheTtlSeconds,
    cacheTimeoutMs: config.upstash ? 250 : 0,
    apiKey: config.apiKey,
    logger,
    draining: () => draining(),
  });
  const server = serve({
    port: config.port,
    logger,
    fetch: app.fetch,
    onClose: async () => {
      await Promise.all([repository.close(), cache.close()]);
    },
  });
  draining = server.draining;
}

if (import.meta.main) await main();
