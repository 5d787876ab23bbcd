import type { Hono } from "hono";
import { type Clock, systemClock } from "@stockroom/kernel";
import { type AppEnv, createServiceApp } from "@stockroom/http";
import type { Logger } from "@stockroom/runtime/logger";
import { Metrics } from "@stockroom/runtime/metrics";
import { ProductService } from "./application/product_service.ts";
import type { ProductCache, ProductRepository } from "./domain/ports.ts";
import { productsOpenApi } from "./api/openapi.ts";
import { productRoutes } from "./api/routes.ts";
import { CachedProductRepository } from "./infrastructure/cached_product_repository.ts";

/**
 * How long an invalidation blocks refills of the cache: twice the database's statement budget
 * (5 s), so no read that saw the old row can outlive it and put it back.
 */
export const INVALIDATION_GRACE_SECONDS = 10;

export interface ProductsAppOptions {
  /** The database adapter. */
  store: ProductRepository;
  cache: ProductCache;
  /** 0 turns the cache off. */
  cacheTtlSeconds: number;
  apiKey: string;
  logger: Logger;
  clock?: Clock;
  draining?: () => boolean;
  metrics?: Metrics;
  /** The store's write gate: a write it could not admit now is refused before its body is read. */
  writesFull?: () => boolean;
}

/** The products HTTP application over the given adapters; `main.ts` decides which ones. */
export function createProductsApp(options: ProductsAppOptions): Hono<AppEnv> {
  const metrics = options.metrics ?? new Metrics("products");
  const clock = options.clock ?? systemClock;
  const cacheLookups = metrics.counter(
    "product_cache_lookups_total",
    "Product reads by cache result (miss includes reads with the cache off)",
    ["result"],
  );
  const cacheErrors = metrics.counter(
    "product_cache_errors_total",
    "Cache calls that failed or timed out and fell back to the database",
    ["operation"],
  );
  const repository = new CachedProductRepository(options.store, options.cache, {
    ttlSeconds: options.cacheTtlSeconds,
    graceSeconds: INVALIDATION_GRACE_SECONDS,
    clock,
    log: options.logger,
    onError: (operation) => cacheErrors.inc({ operation }),
  });
  const service = new ProductService({ repository, clock, newId: () => crypto.randomUUID() });
  const app = createServiceApp({
    logger: options.logger,
    apiKey: options.apiKey,
    openapi: productsOpenApi,
    metrics,
    writesFull: options.writesFull,
    health: {
      service: "products",
      checks: {
        database: () => options.store.ping(),
        ...(options.cacheTtlSeconds > 0 ? { cache: () => options.cache.ping() } : {}),
      },
      optional: ["cache"],
      draining: options.draining,
    },
  });
  app.route(
    "/products",
    productRoutes(service, {
      onCacheResult: (hit) => cacheLookups.inc({ result: hit ? "hit" : "miss" }),
    }),
  );
  return app;
}
