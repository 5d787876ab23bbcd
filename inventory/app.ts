import type { Hono } from "hono";
import { type AppEnv, createServiceApp, type Logger } from "@stockroom/shared";
import { InventoryService } from "./application/inventory_service.ts";
import type { IdempotencyStore, ProductCatalog, StockRepository } from "./domain/ports.ts";
import { inventoryOpenApi } from "./api/openapi.ts";
import { inventoryRoutes } from "./api/routes.ts";

export interface InventoryAppOptions {
  repository: StockRepository;
  idempotencyStore: IdempotencyStore;
  catalog: ProductCatalog;
  productsServiceUrl: string;
  apiKey: string;
  logger: Logger;
  draining?: () => boolean;
}

/** The inventory HTTP application over the given adapters; `main.ts` decides which ones. */
export function createInventoryApp(options: InventoryAppOptions): Hono<AppEnv> {
  const service = new InventoryService({
    repository: options.repository,
    catalog: options.catalog,
  });
  const app = createServiceApp({
    logger: options.logger,
    apiKey: options.apiKey,
    openapi: inventoryOpenApi,
    health: {
      service: "inventory",
      checks: { database: () => options.repository.ping() },
      draining: options.draining,
    },
  });
  app.route(
    "/inventory",
    inventoryRoutes({
      service,
      idempotencyStore: options.idempotencyStore,
      productsServiceUrl: options.productsServiceUrl,
    }),
  );
  return app;
}
