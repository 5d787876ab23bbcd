import type { Hono } from "hono";
import { type AppEnv, createServiceApp, type Logger, Metrics } from "@stockroom/shared";
import { ProductService } from "./application/product_service.ts";
import type { ProductCache, ProductRepository } from "./domain/ports.ts";
import { productsOpenApi } from "./api/openapi.ts";
import { productRoutes } from "./api/routes.ts";

export interface ProductsAppOptions {
  repository: ProductRepository;
  cache: ProductCache;
  cacheTtlSeconds: number;
  /** Bound on each cache call before falling back to the database; 0 for an in-process cache. */
  cacheTimeoutMs?: number;
  apiKey: string;
  logger: Logger;
  draining?: () => boolean;
  metrics?: Metrics;
}

/** The products HTTP application over the given adapters; `main.ts` decides which ones. */
export function createProductsApp(options: ProductsAppOptions): Hono<AppEnv> {
  const metrics = options.metrics ?? new Metrics("products");
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
  const service = new ProductService({
    repository: options.repository,
    cache: options.cache,
    cacheTtlSeconds: options.cacheTtlSeconds,
    cacheTimeoutMs: options.cacheTimeoutMs,
    onCacheError: (operation) => cacheErrors.inc({ operation }),
  });
  const app = createServiceApp({
    logger: options.logger,
    apiKey: options.apiKey,
    openapi: productsOpenApi,
    metrics,
    health: {
      service: "products",
      checks: {
        database: () => options.repository.ping(),
        ...(options.cacheTtlSeconds > 0 ? { cache: () => options.cache.ping() } : {}),
      },
      optional: ["cache"],
      draining: options.draining,
    },
  });
  app.route(
    "/products",
    productRoutes(service, { onCacheResult: (r) => cacheLookups.inc({ result: r.toLowerCase() }) }),
  );
  return app;
}
