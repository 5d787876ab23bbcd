/**
 * Composition root: the only place that chooses adapters, from the environment. It runs behind
 * the boot shell, which has the port open already, and imports what it uses only now: a driver
 * that is not configured is never loaded.
 */
import { boot, type StartedService } from "@stockroom/runtime/boot";
import type { ProductCache, ProductRepository } from "./domain/ports.ts";
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

/** Client-side bound on one statement, above PostgreSQL's own `statement_timeout` (4 s). */
const STORE_CALL_TIMEOUT_MS = 5000;
/** postgres.js's pool (postgres_client.ts); PGlite runs one statement at a time anyway. */
const SQL_POOL = 10;

/** Admission control and honest failures in front of the database (runtime/store_guard.ts). */
async function guarded(
  store: ProductRepository,
  config: ProductsConfig,
  metrics: import("@stockroom/runtime/admission").StoreGatesOptions["metrics"],
): Promise<{ store: ProductRepository; writesFull: () => boolean }> {
  const [{ storeGates }, { guardStore }, { postgresFailure }] = await Promise.all([
    import("@stockroom/runtime/admission"),
    import("@stockroom/runtime/store_guard"),
    import("./infrastructure/postgres_failures.ts"),
  ]);
  const gates = storeGates({
    dependency: "database",
    limit: config.admission.maxInFlight ?? SQL_POOL,
    queue: config.admission.maxQueue,
    maxWaitMs: config.admission.maxWaitMs,
    metrics,
  });
  const guarded = guardStore(store, {
    dependency: "database",
    gates,
    writes: ["create", "update", "delete"],
    ungated: ["ping"],
    timeoutMs: STORE_CALL_TIMEOUT_MS,
    // PGlite's errors are all about the statement: it runs in this process.
    classify: config.databaseUrl ? postgresFailure : () => "other",
    settle: "read the product to see; a create with a client-supplied id can be sent again " +
      "(a 409 then means it was applied)",
  });
  return { store: guarded, writesFull: () => gates.write.shedIfFull() };
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
    { Metrics },
  ] = await Promise.all([
    import("./config.ts"),
    import("@stockroom/runtime/logger"),
    import("./app.ts"),
    import("./infrastructure/migrate.ts"),
    import("./infrastructure/sql_product_repository.ts"),
    import("@stockroom/runtime/metrics"),
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

  const metrics = new Metrics(SERVICE.name);
  const { store, writesFull } = await guarded(new SqlProductRepository(sql), config, metrics);
  const app = createProductsApp({
    store,
    writesFull,
    metrics,
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
