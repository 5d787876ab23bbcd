/**
 * Composition root: the only place that chooses adapters, from the environment. It runs behind
 * the boot shell, which has the port open already, and imports what it uses only now: a driver
 * that is not configured is never loaded.
 */
import { boot, type StartedService } from "@stockroom/runtime/boot";
import type { EventLog } from "@stockroom/kernel";
import type { StoreGatesOptions } from "@stockroom/runtime/admission";
import type { StoreFailure } from "@stockroom/runtime/store_guard";
import type { InventoryConfig } from "./config.ts";
import type { ChangeIntent } from "./domain/movement.ts";
import type { IdempotencyStore, ReservationStore, StockRepository } from "./domain/ports.ts";
import { SERVICE } from "./service.ts";

interface Stores {
  repository: StockRepository;
  reservations: ReservationStore;
  idempotencyStore: IdempotencyStore;
  close: () => Promise<void>;
  /** True (a shed counted) when a write could not be admitted now: it is refused at the door. */
  writesFull?: () => boolean;
}

/** Client-side bound on one store call, above the server-side limit (MAX_TIME_MS, 4 s). */
const STORE_CALL_TIMEOUT_MS = 5000;
const MONGO_POOL = 20;
/**
 * Writes in flight to MongoDB per instance. FerretDB applies writes one at a time, and more of
 * them waiting inside it only made each slower (8 writers on one product: 370 purchases/s, 4: 463,
 * 16: 245); the rest wait in the admission queue, where a refusal is still possible.
 */
const MONGO_WRITES = 4;
const KV_IN_FLIGHT = 32;
/** The sweeper's pause between rounds, and how many reservations a round settles at most. */
const SWEEP_INTERVAL_MS = 1000;
const SWEEP_BATCH = 50;
/** How long shutdown waits for answers still being kept (after up to 4 s of draining). */
const RECORDER_FLUSH_MS = 1500;

/**
 * Admission control and honest failures in front of both stores (see runtime/store_guard.ts): a
 * write whose outcome cannot be learned is a 504 telling the client to retry with its key.
 */
async function guarded(
  stores: Stores,
  gates: StoreGatesOptions,
  classify: (err: unknown) => StoreFailure,
): Promise<Stores> {
  const [{ storeGates }, { guardStore }] = await Promise.all([
    import("@stockroom/runtime/admission"),
    import("@stockroom/runtime/store_guard"),
  ]);
  const admission = storeGates(gates);
  const common = {
    dependency: "database",
    gates: admission,
    timeoutMs: STORE_CALL_TIMEOUT_MS,
    classify,
    settle: "retry with the same Idempotency-Key to apply it exactly once",
  };
  return {
    repository: guardStore(stores.repository, {
      ...common,
      writes: ["create", "apply", "delete"],
      ungated: ["ping"],
      // A retry of an applied keyed change is answered by a read while writes queue.
      answeredByRead: {
        apply: { read: "replayed", when: (_id: string, intent: ChangeIntent) => !!intent.op },
      },
    }),
    reservations: guardStore(stores.reservations, { ...common, writes: ["insert", "replace"] }),
    idempotencyStore: guardStore(stores.idempotencyStore, {
      ...common,
      writes: ["record"],
    }),
    close: stores.close,
    writesFull: () => admission.write.shedIfFull(),
  };
}

async function openMongo(url: string, dbName: string, log: EventLog): Promise<Stores> {
  const [
    { MongoClient },
    { createMongoStockRepository },
    { detectNonAtomicUpdates },
    { createMongoIdempotencyStore },
    { createMongoReservationStore },
  ] = await Promise.all([
    import("mongodb"),
    import("./infrastructure/mongo_stock_repository.ts"),
    import("./infrastructure/mongo_stock_reads.ts"),
    import("./infrastructure/mongo_idempotency_store.ts"),
    import("./infrastructure/mongo_reservation_store.ts"),
  ]);
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 3000,
    connectTimeoutMS: 3000,
    socketTimeoutMS: 10_000,
    maxPoolSize: MONGO_POOL,
  });
  await client.connect();
  const warning = await detectNonAtomicUpdates(client);
  if (warning) log.warn({ reason: warning }, "store.not_atomic");
  return {
    repository: await createMongoStockRepository(client, dbName, { closeClient: false }),
    reservations: await createMongoReservationStore(client, dbName),
    idempotencyStore: await createMongoIdempotencyStore(client, dbName),
    close: () => client.close(),
  };
}

async function openKv(onDeploy: boolean): Promise<Stores> {
  const [
    { createKvIdempotencyStore },
    { createKvStockRepository },
    { createKvReservationStore },
  ] = await Promise.all([
    import("./infrastructure/kv_idempotency_store.ts"),
    import("./infrastructure/kv_stock_repository.ts"),
    import("./infrastructure/kv_reservation_store.ts"),
  ]);
  // Deno Deploy provides its own database; locally it lives in .data/ (git-ignored).
  if (!onDeploy) await Deno.mkdir(".data", { recursive: true });
  const kv = await Deno.openKv(onDeploy ? undefined : ".data/inventory.kv");
  return {
    repository: createKvStockRepository(kv, { closeKv: false }),
    reservations: createKvReservationStore(kv),
    idempotencyStore: createKvIdempotencyStore(kv),
    close: () => Promise.resolve(kv.close()),
  };
}

async function openStores(
  config: InventoryConfig,
  log: EventLog,
  metrics: StoreGatesOptions["metrics"],
): Promise<Stores> {
  const gates = (limit: StoreGatesOptions["limit"]): StoreGatesOptions => ({
    dependency: "database",
    limit: config.admission.maxInFlight ?? limit,
    queue: config.admission.maxQueue,
    maxWaitMs: config.admission.maxWaitMs,
    metrics,
  });
  try {
    // Deno KV's errors are about the call itself (a local SQLite file, or Deploy's service).
    if (!config.mongodbUrl) {
      return guarded(await openKv(config.onDeploy), gates(KV_IN_FLIGHT), () => "other");
    }
    const { loadInSteps } = await import("@stockroom/runtime/preload");
    await loadInSteps("mongodb");
    const { mongoFailure } = await import("./infrastructure/mongo_failures.ts");
    const mongo = await openMongo(config.mongodbUrl, config.mongodbDb, log);
    return guarded(mongo, gates({ read: MONGO_POOL, write: MONGO_WRITES }), mongoFailure);
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
  const metrics = new Metrics(SERVICE.name);
  const stores = await openStores(config, logger, metrics);
  logger.info({ store: config.mongodbUrl ? "mongodb" : "deno-kv" }, "database.ready");

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
  const { IdempotencyRecorder } = await import("./infrastructure/idempotency_recorder.ts");
  const { KEY_TTL_MS } = await import("./api/idempotency.ts");
  const recorder = new IdempotencyRecorder(stores.idempotencyStore, {
    ttlMs: KEY_TTL_MS,
    log: logger,
  });
  const { app, carts } = createInventoryApp({
    metrics,
    repository: stores.repository,
    reservations: stores.reservations,
    idempotencyStore: stores.idempotencyStore,
    remember: (answer) => recorder.add(answer),
    catalog,
    productsServiceUrl: config.productsServiceUrl,
    apiKey: config.apiKey,
    logger,
    draining,
    writesFull: stores.writesFull,
  });
  // Expired carts give their units back within SWEEP_INTERVAL_MS of expiring, with no request.
  const { Sweeper } = await import("./infrastructure/sweeper.ts");
  const sweeper = new Sweeper({
    sweep: () => carts.sweep(logger, SWEEP_BATCH),
    intervalMs: SWEEP_INTERVAL_MS,
    batch: SWEEP_BATCH,
    log: logger,
  }).start();
  return {
    fetch: app.fetch,
    port: config.port,
    log: logger,
    flush: () => flushLogger(logger),
    onClose: async () => {
      await sweeper.stop();
      // Answers given but not yet kept (bounded: one not kept only makes its retry slower, as the
      // change's movement answers it), then the stores.
      await recorder.flush(RECORDER_FLUSH_MS);
      await stores.close();
    },
  };
}

if (import.meta.main) boot({ ...SERVICE, start });
