import { MongoClient } from "mongodb";
import { exitOnStartupError, loadServiceConfig, Metrics, serve } from "@stockroom/shared";
import { createInventoryApp } from "./app.ts";
import type { IdempotencyStore, StockRepository } from "./domain/ports.ts";
import { HttpProductCatalog } from "./infrastructure/http_product_catalog.ts";
import { guardStore } from "./infrastructure/store_guard.ts";
import { createKvIdempotencyStore } from "./infrastructure/kv_idempotency_store.ts";
import { createKvStockRepository } from "./infrastructure/kv_stock_repository.ts";
import { createMongoIdempotencyStore } from "./infrastructure/mongo_idempotency_store.ts";
import {
  createMongoStockRepository,
  detectNonAtomicUpdates,
} from "./infrastructure/mongo_stock_repository.ts";

interface Stores {
  repository: StockRepository;
  idempotencyStore: IdempotencyStore;
  close: () => Promise<void>;
}

async function openMongo(
  url: string,
  dbName: string,
): Promise<Stores & { warning: string | null }> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 3000,
    connectTimeoutMS: 3000,
    socketTimeoutMS: 10_000,
    maxPoolSize: 20,
  });
  await client.connect();
  const repository = guardStore(
    await createMongoStockRepository(client, dbName, { closeClient: false }),
  );
  const idempotencyStore = guardStore(await createMongoIdempotencyStore(client, dbName));
  return {
    repository,
    idempotencyStore,
    warning: await detectNonAtomicUpdates(client),
    close: () => client.close(),
  };
}

async function openKv(): Promise<Stores> {
  // Deno Deploy provides its own database; locally it lives in .data/ (git-ignored).
  const path = Deno.env.get("DENO_DEPLOYMENT_ID") ? undefined : ".data/inventory.kv";
  if (path) await Deno.mkdir(".data", { recursive: true });
  const kv = await Deno.openKv(path);
  return {
    repository: createKvStockRepository(kv, { closeKv: false }),
    idempotencyStore: createKvIdempotencyStore(kv),
    close: () => Promise.resolve(kv.close()),
  };
}

/** Composition root: the only place that chooses adapters, from the environment. */
async function main(): Promise<void> {
  const { config, logger } = loadServiceConfig("inventory");

  let stores: Stores;
  try {
    if (config.mongodbUrl) {
      const mongo = await openMongo(config.mongodbUrl, config.mongodbDb);
      if (mongo.warning) logger.warn({ reason: mongo.warning }, "store.not_atomic");
      stores = mongo;
    } else {
      stores = await openKv();
    }
    logger.info({ store: config.mongodbUrl ? "mongodb" : "deno-kv" }, "database.ready");
  } catch (err) {
    exitOnStartupError("inventory", new Error(`Database unavailable: ${(err as Error).message}`));
  }

  const metrics = new Metrics("inventory");
  const attempts = metrics.counter(
    "products_client_attempts_total",
    "Calls to the products service, by outcome (HTTP status or error)",
    ["outcome"],
  );
  const retries = metrics.counter("products_client_retries_total", "Retried calls to products");
  const failures = metrics.counter(
    "products_client_failures_total",
    "Calls to products that failed after every retry",
  );

  let draining = () => false;
  const app = createInventoryApp({
    metrics,
    repository: stores.repository,
    idempotencyStore: stores.idempotencyStore,
    catalog: new HttpProductCatalog({
      baseUrl: config.productsServiceUrl,
      apiKey: config.apiKey,
      logger,
      retry: {
        onAttempt: (info) => {
          // Error texts vary; the label keeps to a fixed few values.
          const outcome = info.status
            ? String(info.status)
            : info.error === "timeout"
            ? "timeout"
            : "network_error";
          attempts.inc({ outcome });
          if (info.attempt > 1) retries.inc();
        },
      },
      onUnavailable: () => failures.inc(),
    }),
    productsServiceUrl: config.productsServiceUrl,
    apiKey: config.apiKey,
    logger,
    draining: () => draining(),
  });
  const server = serve({
    port: config.port,
    logger,
    fetch: app.fetch,
    onClose: () => stores.close(),
  });
  draining = server.draining;
}

if (import.meta.main) await main();
