/**
 * Composition root: the only place that chooses adapters, from the environment. It runs behind
 * the boot shell, which has the port open already, and imports what it uses only now: a driver
 * that is not configured is never loaded.
 */
import { boot, type StartedService } from "@stockroom/runtime/boot";
import type { EventLog } from "@stockroom/kernel";
import type { InventoryConfig } from "./config.ts";
import type { IdempotencyStore, StockRepository } from "./domain/ports.ts";
import { SERVICE } from "./service.ts";

interface Stores {
  repository: StockRepository;
  idempotencyStore: IdempotencyStore;
  close: () => Promise<void>;
}

async function openMongo(url: string, dbName: string, log: EventLog): Promise<Stores> {
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
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 3000,
    connectTimeoutMS: 3000,
    socketTimeoutMS: 10_000,
    maxPoolSize: 20,
  });
  await client.connect();
  const warning = await detectNonAtomicUpdates(client);
  if (warning) log.warn({ reason: warning }, "store.not_atomic");
  return {
    repository: guardStore(
      await createMongoStockRepository(client, dbName, { closeClient: false }),
    ),
    idempotencyStore: guardStore(await createMongoIdempotencyStore(client, dbName)),
    close: () => client.close(),
  };
}

async function openKv(onDeploy: boolean): Promise<Stores> {
  const [{ createKvIdempotencyStore }, { createKvStockRepository }] = await Promise.all([
    import("./infrastructure/kv_idempotency_store.ts"),
    import("./infrastructure/kv_stock_repository.ts"),
  ]);
  // Deno Deploy provides its own database; locally it lives in .data/ (git-ignored).
  if (!onDeploy) await Deno.mkdir(".data", { recursive: true });
  const kv = await Deno.openKv(onDeploy ? undefined : ".data/inventory.kv");
  return {
    repository: createKvStockRepository(kv, { closeKv: false }),
    idempotencyStore: createKvIdempotencyStore(kv),
    close: () => Promise.resolve(kv.close()),
  };
}

async function openStores(config: InventoryConfig, log: EventLog): Promise<Stores> {
  try {
    if (!config.mongodbUrl) return await openKv(config.onDeploy);
    const { loadInSteps } = await import("@stockroom/runtime/preload");
    await loadInSteps("mongodb");
    return await openMongo(config.mongodbUrl, config.mongodbDb, log);
  } catch (err) {
    throw new Error(`Database unavailable: ${(err as Error).message}`);
  }
}

async function start(draining: () => boolean): Promise<StartedService> {
  const { loadInSteps } = await import("@stockroom/runtime/preload");
  await loadInSteps("stack");
  const [
    { inventoryConfig },
    { flushLogger, serviceLogger },
    { Metrics },
    { createInventoryApp },
    { HttpProductCatalog },
  ] = await Promise.all([
    import("./config.ts"),
    import("@stockroom/runtime/logger"),
    import("@stockroom/runtime/metrics"),
    import("./app.ts"),
    import("./infrastructure/http_product_catalog.ts"),
  ]);
  const config = inventoryConfig(Deno.env.toObject());
  const logger = serviceLogger(SERVICE.name, config);
  const stores = await openStores(config, logger);
  logger.info({ store: config.mongodbUrl ? "mongodb" : "deno-kv" }, "database.ready");

  const metrics = new Metrics(SERVICE.name);
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
  const catalog = new HttpProductCatalog({
    baseUrl: config.productsServiceUrl,
    apiKey: config.apiKey,
    log: logger,
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
  });
  const app = createInventoryApp({
    metrics,
    repository: stores.repository,
    idempotencyStore: stores.idempotencyStore,
    catalog,
    productsServiceUrl: config.productsServiceUrl,
    apiKey: config.apiKey,
    logger,
    draining,
  });
  return {
    fetch: app.fetch,
    port: config.port,
    log: logger,
    flush: () => flushLogger(logger),
    onClose: () => stores.close(),
  };
}

if (import.meta.main) boot({ ...SERVICE, start });
