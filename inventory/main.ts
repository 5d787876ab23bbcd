import type { MongoClient } from "mongodb";
import { boot, importInSteps, sharedStackSteps, type StartedService } from "@stockroom/shared/boot";
import type { IdempotencyStore, StockRepository } from "./domain/ports.ts";

interface Stores {
  repository: StockRepository;
  idempotencyStore: IdempotencyStore;
  close: () => Promise<void>;
}

async function openMongo(
  url: string,
  dbName: string,
): Promise<Stores & { warning: string | null }> {
  await importInSteps([
    () => import("node:net"),
    () => import("node:tls"),
    () => import("node:zlib"),
    () => import("node:crypto"),
    () => import("node:dns"),
    () => import("mongodb"),
  ]);
  const [
    { MongoClient },
    { guardStore },
    { createMongoStockRepository, detectNonAtomicUpdates },
    { createMongoIdempotencyStore },
  ] = await Promise.all([
    import("mongodb"),
    import("./infrastructure/store_guard.ts"),
    import("./infrastructure/mongo_stock_repository.ts"),
    import("./infrastructure/mongo_idempotency_store.ts"),
  ]);
  const client: MongoClient = new MongoClient(url, {
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
  const [{ createKvIdempotencyStore }, { createKvStockRepository }] = await Promise.all([
    import("./infrastructure/kv_idempotency_store.ts"),
    import("./infrastructure/kv_stock_repository.ts"),
  ]);
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

/**
 * Composition root: the only place that chooses adapters, from the environment. It runs behind
 * the boot shell, which has the port open already, and imports what it uses only now: a driver
 * that is not configured is never loaded.
 */
async function start(draining: () => boolean): Promise<StartedService> {
  await importInSteps([...sharedStackSteps, () => import("./app.ts")]);
  const [
    { exitOnStartupError, loadServiceConfig, Metrics },
    { createInventoryApp },
    { HttpProductCatalog },
  ] = await Promise.all([
    import("@stockroom/shared"),
    import("./app.ts"),
    import("./infrastructure/http_product_catalog.ts"),
  ]);
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
    return exitOnStartupError(
      "inventory",
      new Error(`Database unavailable: ${(err as Error).message}`),
    );
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
    draining,
  });
  return { fetch: app.fetch, port: config.port, logger, onClose: () => stores.close() };
}

if (import.meta.main) boot({ service: "inventory", start });
