import type { Hono } from "hono";
import { type Clock, systemClock } from "@stockroom/kernel";
import { type AppEnv, createServiceApp } from "@stockroom/http";
import type { Logger } from "@stockroom/runtime/logger";
import { Metrics } from "@stockroom/runtime/metrics";
import { InventoryService } from "./application/inventory_service.ts";
import type {
  IdempotencyStore,
  KeyedAnswer,
  ProductCatalog,
  ReservationStore,
  StockRepository,
} from "./domain/ports.ts";
import { ReservationService } from "./application/reservation_service.ts";
import { reservationRoutes } from "./api/reservation_routes.ts";
import { KEY_TTL_MS } from "./api/idempotency.ts";
import { IdempotencyRecorder } from "./infrastructure/idempotency_recorder.ts";
import { inventoryOpenApi } from "./api/openapi.ts";
import { inventoryRoutes } from "./api/routes.ts";

export interface InventoryAppOptions {
  repository: StockRepository;
  reservations: ReservationStore;
  idempotencyStore: IdempotencyStore;
  /** Keeps keyed answers (main.ts flushes its recorder at shutdown); one of the app's own by default. */
  remember?: (answer: KeyedAnswer) => void;
  catalog: ProductCatalog;
  productsServiceUrl: string;
  apiKey: string;
  logger: Logger;
  clock?: Clock;
  draining?: () => boolean;
  metrics?: Metrics;
  /** The store's write gate: a write it could not admit now is refused before its body is read. */
  writesFull?: () => boolean;
}

/** The inventory HTTP application and its cart service (whose sweeper `main.ts` runs). */
export interface InventoryApp {
  app: Hono<AppEnv>;
  carts: ReservationService;
}

/** The inventory HTTP application over the given adapters; `main.ts` decides which ones. */
export function createInventoryApp(options: InventoryAppOptions): InventoryApp {
  const metrics = options.metrics ?? new Metrics("inventory");
  const adjustments = metrics.counter(
    "inventory_adjustments_total",
    "Stock changes applied, by kind (delta or absolute set)",
    ["kind"],
  );
  const insufficient = metrics.counter(
    "inventory_insufficient_stock_total",
    "Purchases refused for insufficient stock",
  );
  const service = new InventoryService({
    repository: options.repository,
    catalog: options.catalog,
    clock: options.clock ?? systemClock,
  });
  const app = createServiceApp({
    logger: options.logger,
    apiKey: options.apiKey,
    openapi: inventoryOpenApi,
    metrics,
    writesFull: options.writesFull,
    health: {
      service: "inventory",
      checks: {
        database: () => options.repository.ping(),
        products: () => options.catalog.ping(),
      },
      // Reads and adjustments need only the store; creating stock also needs products.
      optional: ["products"],
      draining: options.draining,
    },
  });
  const carts = new ReservationService({
    stock: options.repository,
    reservations: options.reservations,
    clock: options.clock ?? systemClock,
  });
  const remember = options.remember ?? recorder(options);
  app.route(
    "/reservations",
    reservationRoutes({ service: carts, idempotencyStore: options.idempotencyStore, remember }),
  );
  app.route(
    "/inventory",
    inventoryRoutes({
      service,
      idempotencyStore: options.idempotencyStore,
      remember,
      productsServiceUrl: options.productsServiceUrl,
      onAdjusted: (kind) => adjustments.inc({ kind }),
      onInsufficientStock: () => insufficient.inc(),
    }),
  );
  return { app, carts };
}

function recorder(options: InventoryAppOptions): (answer: KeyedAnswer) => void {
  const kept = new IdempotencyRecorder(options.idempotencyStore, {
    ttlMs: KEY_TTL_MS,
    log: options.logger,
  });
  return (answer) => kept.add(answer);
}
