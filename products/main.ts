import { boot, importInSteps, sharedStackSteps, type StartedService } from "@stockroom/shared/boot";
import type { ProductCache } from "./domain/ports.ts";
import type { SqlClient } from "./infrastructure/sql_client.ts";

/**
 * Composition root: the only place that chooses adapters, from the environment. It runs behind
 * the boot shell, which has the port open already, and imports what it uses only now: a driver
 * that is not configured is never loaded.
 */
async function start(draining: () => boolean): Promise<StartedService> {
  await importInSteps([...sharedStackSteps, () => import("./app.ts")]);
  const [
    { exitOnStartupError, loadServiceConfig },
    { createProductsApp },
    { LruProductCache },
    { migrate },
    { SqlProductRepository },
  ] = await Promise.all([
    import("@stockroom/shared"),
    import("./app.ts"),
    import("./infrastructure/lru_product_cache.ts"),
    import("./infrastructure/migrate.ts"),
    import("./infrastructure/sql_product_repository.ts"),
  ]);
  const { config, logger } = loadServiceConfig("products");

  let sql: SqlClient;
  try {
    if (config.databaseUrl) {
      await importInSteps([
        () => import("node:net"),
        () => import("node:tls"),
        () => import("node:crypto"),
        () => import("postgres"),
      ]);
    }
    sql = config.databaseUrl
      ? (await import("./infrastructure/postgres_client.ts")).postgresClient(config.databaseUrl)
      : await (await import("./infrastructure/pglite_client.ts")).pgliteClient(".data/products");
    const applied = await migrate(sql);
    logger.info({
      store: config.databaseUrl ? "postgresql" : "pglite",
      migrations_applied: applied,
    }, "database.ready");
  } catch (err) {
    return exitOnStartupError(
      "products",
      new Error(`Database unavailable: ${(err as Error).message}`),
    );
  }
  const repository = new SqlProductRepository(sql);
  let cache: ProductCache = new LruProductCache();
  if (config.upstash) {
    await importInSteps([() => import("@upstash/redis")]);
    const { UpstashProductCache } = await import("./infrastructure/upstash_product_cache.ts");
    const shared = new UpstashProductCache(config.upstash);
    cache = config.cacheL1TtlSeconds > 0
      ? new (await import("./infrastructure/tiered_product_cache.ts")).TieredProductCache(
        new LruProductCache(),
        shared,
        config.cacheL1TtlSeconds,
      )
      : shared;
  }
  logger.info({
    cache: config.cacheTtlSeconds === 0 ? "off" : config.upstash ? "upstash" : "lru",
    cache_ttl_seconds: config.cacheTtlSeconds,
    cache_l1_ttl_seconds: config.upstash ? config.cacheL1TtlSeconds : undefined,
  }, "cache.ready");

  const app = createProductsApp({
    repository,
    cache,
    cacheTtlSeconds: config.cacheTtlSeconds,
    cacheTimeoutMs: config.upstash ? 250 : 0,
    apiKey: config.apiKey,
    logger,
    draining,
  });
  return {
    fetch: app.fetch,
    port: config.port,
    logger,
    onClose: async () => {
      await Promise.all([repository.close(), cache.close()]);
    },
  };
}

if (import.meta.main) boot({ service: "products", start });
