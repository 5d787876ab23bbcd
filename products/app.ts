import type { Hono } from "hono";
import { type AppEnv, createServiceApp, type Logger } from "@stockroom/shared";
import { ProductService } from "./application/product_service.ts";
import type { ProductCache, ProductRepository } from "./domain/ports.ts";
import { productsOpenApi } from "./api/openapi.ts";
import { productRoutes } from "./api/routes.ts";

export interface ProductsAppOptions {
  repository: ProductRepository;
  cache: ProductCache;
  cacheTtlSeconds: number;
  apiKey: string;
  logger: Logger;
  draining?: () => boolean;
}

/** The products HTTP application over the given adapters; `main.ts` decides which ones. */
export function createProductsApp(options: ProductsAppOptions): Hono<AppEnv> {
  const service = new ProductService({
    repository: options.repository,
    cache: options.cache,
    cacheTtlSeconds: options.cacheTtlSeconds,
  });
  const app = createServiceApp({
    logger: options.logger,
    apiKey: options.apiKey,
    openapi: productsOpenApi,
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
  app.route("/products", productRoutes(service));
  return app;
}
