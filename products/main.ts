/**
 * Composition root: the only place that chooses adapters, from the environment. It runs behind
 * the boot shell, which has the port open already, and imports what it uses only now: a driver
 * that is not configured is never loaded.
 */
import { boot, type StartedService } from "@stockroom/runtime/boot";
import type { ProductCache } from "./domain/ports.ts";
import type { SqlClient } from "./infrastructure/sql_client.ts";
import type { ProductsConfig } from "./config.ts";
import { SERVICE } from "./service.ts";

async function openDatabase(config: ProductsConfig): Promise<SqlClient> {
  if (config.databaseUrl) {
    const { postgresClient } = await import("./infrastructure/postgres_client.ts");
    return postgresClient(config.databaseUrl);
  }
  const { pgliteClient } = await import("./infrastructure/pglite_client.ts");
  return await pgliteClient(".data/products");
}

async function openCache(config: ProductsConfig): Promise<ProductCache> {
  const { LruProductCache } = await import("./infrastructure/lru_product_cache.ts");
  if (!config.upstash) return new LruProductCache();
  const { UpstashProductCache } = await import("./infrastructure/upstash_product_cache.ts");
  const shared = new UpstashProductCache(config.upstash);
  if (config.cacheL1TtlSeconds === 0) return shared;
  const { TieredProductCache } = await import("./infrastructure/tiered_product_cache.ts");
  return new TieredProductCache(new LruProductCache(), shared, config.cacheL1TtlSeconds);
}

async function start(draining: () => boolean): Promise<StartedService> {
  const { loadInSteps } = await import("@stockroom/runtime/preload");
  await loadInSteps("stack");
  const [
    { productsConfig },
    { flushLogger, serviceLogger },
    { createProductsApp },
    { migrate },
    { SqlProductRepository },
  ] = await Promise.all([
    import("./config.ts"),
    import("@stockroom/runtime/logger"),
    import("./app.ts"),
    import("./infrastructure/migrate.ts"),
    import("./infrastructure/sql_product_repository.ts"),
  ]);
  const config = productsConfig(Deno.env.toObject());
  const logger = serviceLogger(SERVICE.name, config);

  let sql: SqlClient;
  try {
    if (config.databaseUrl) await loadInSteps("postgres");
    sql = await openDatabase(config);
    const applied = await migrate(sql);
    logger.info({
      store: config.databaseUrl ? "postgresql" : "pglite",
      migrations_applied: applied,
    }, "database.ready");
  } catch (err) {
    throw new Error(`Database unavailable: ${(err as Error).message}`);
  }
  if (config.upstash) await loadInSteps("upstash");
  const cache = await openCache(config);
  logger.info({
    cache: config.cacheTtlSeconds === 0 ? "off" : config.upstash ? "upstash" : "lru",
    cache_ttl_seconds: config.cacheTtlSeconds,
    cache_l1_ttl_seconds: config.upstash ? config.cacheL1TtlSeconds : undefined,
  }, "cache.ready");

  const store = new SqlProductRepository(sql);
  const app = createProductsApp({
    store,
    cache,
    cacheTtlSeconds: config.cacheTtlSeconds,
    apiKey: config.apiKey,
    logger,
    draining,
  });
  return {
    fetch: app.fetch,
    port: config.port,
    log: logger,
    flush: () => flushLogger(logger),
    onClose: async () => {
      await Promise.all([store.close(), cache.close()]);
    },
  };
}

if (import.meta.main) boot({ ...SERVICE, start });
