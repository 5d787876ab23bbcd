import assert from "node:assert/strict";
import { FaultProxy } from "./fault_proxy.ts";
import {
  adjust,
  API_KEY,
  assertNoSecretsInLogs,
  call,
  type CallResult,
  countBy,
  createProduct,
  createStock,
  createStores,
  figures,
  ignore,
  inventoryEnv,
  product,
  productsEnv,
  type RunningService,
  show,
  sleep,
  startService,
  stopAll,
  viaPort,
} from "./support.ts";

/**
 * Case 6: SIGTERM while requests are in flight. The store is reached through a proxy that delays
 * every answer, so requests are really inside the service (waiting on the store) when the signal
 * lands. Every request started before the signal must get a complete 2xx answer; later ones may
 * be refused. The process must exit 0, and every acknowledged write must be in the store.
 */

const WORKERS = 24;
const STORE_LATENCY_MS = 150;
const LOAD_BEFORE_SIGNAL_MS = 1500;
const LOAD_AFTER_SIGNAL_MS = 1000;
/**
 * A request sent in the last moments before the signal may still be in the client's socket when
 * the server closes that idle keep-alive connection: the usual HTTP/1.1 race, which no server can
 * close. Only requests sent at least this long before the signal must have reached the service.
 */
const REACH_MS = 25;

interface Tagged extends CallResult {
  id?: string;
}

async function loadThenSignal(
  service: RunningService,
  op: (worker: number, i: number) => Promise<Tagged>,
) {
  const samples: Tagged[] = [];
  let signalAt = Infinity;
  let stopAt = Infinity;
  const workers = Array.from({ length: WORKERS }, async (_, w) => {
    for (let i = 0; Date.now() < stopAt && i < 1000; i++) {
      const s = await op(w, i);
      samples.push(s);
      // Once the service is gone, connections are refused at once: do not spin.
      if (s.status === 0) await sleep(50);
    }
  });
  await sleep(LOAD_BEFORE_SIGNAL_MS);
  signalAt = Date.now();
  stopAt = signalAt + LOAD_AFTER_SIGNAL_MS;
  // stop() sends SIGTERM synchronously, then waits for the exit and asserts code 0.
  const stopped = service.stop().then(() => null, (err: Error) => err);
  await Promise.all(workers);
  const exitError = await stopped;
  const before = samples.filter((s) => s.started < signalAt - REACH_MS);
  const inFlight = before.filter((s) => s.ended >= signalAt);
  const after = samples.filter((s) => s.started >= signalAt);
  return { samples, before, inFlight, after, signalAt, exitError };
}

Deno.test({
  name: "reliability: SIGTERM under load loses no in-flight request",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stores = await createStores("stop");
    const pgProxy = new FaultProxy({
      upstreamHost: stores.pgHost,
      upstreamPort: stores.pgPort,
      latencyMs: STORE_LATENCY_MS,
    });
    const mongoProxy = new FaultProxy({
      upstreamHost: stores.mongoHost,
      upstreamPort: stores.mongoPort,
      latencyMs: STORE_LATENCY_MS,
    });
    let products: RunningService | undefined;
    let inventory: RunningService | undefined;
    try {
      await t.step("products", async () => {
        products = await startService(
          "products",
          productsEnv(stores, { DATABASE_URL: viaPort(stores.databaseUrl, pgProxy.port) }),
        );
        const P = products.url;
        pgProxy.setMode("slow");
        const run = await loadThenSignal(products, (w, i) => {
          if (i % 2 === 0) {
            const id = crypto.randomUUID();
            return call(P, "/products", {
              method: "POST",
              body: product(`stop ${w}-${i}`, 1, id),
              timeoutMs: 15_000,
            }).then((r) => ({ ...r, id }));
          }
          return call(P, "/products?page[size]=5&sort=-created_at", { timeoutMs: 15_000 });
        });
        pgProxy.setMode("pass");
        const acked = run.samples.filter((s) => s.id && s.status === 201).map((s) => s.id!);
        const stored = await stores.sql`select id from products where id = any(${acked})`;
        const failedBefore = run.before.filter((s) => s.status < 200 || s.status >= 300);
        figures("6 shutdown products", {
          requests: run.samples.length,
          started_before_signal: run.before.length,
          in_flight_at_signal: run.inFlight.length,
          in_flight_statuses: countBy(run.inFlight, (s) => s.status),
          failed_before_signal: failedBefore.length,
          after_signal: countBy(run.after, (s) => s.status),
          creates_acknowledged: acked.length,
          creates_stored: stored.length,
          exit: run.exitError ? run.exitError.message : "0",
        });
        await assertNoSecretsInLogs([products], [API_KEY]);
        assert.equal(run.exitError, null, String(run.exitError));
        assert.ok(run.inFlight.length >= WORKERS / 2, "requests were in flight at the signal");
        assert.deepEqual(failedBefore.slice(0, 3).map(show), [], "no in-flight request failed");
        assert.equal(stored.length, acked.length, "every acknowledged product is stored");
      });

      await t.step("inventory", async () => {
        products = await startService("products", productsEnv(stores));
        const mongoUrl = new URL(viaPort(stores.mongoUrl, mongoProxy.port));
        mongoUrl.searchParams.set("directConnection", "true");
        inventory = await startService(
          "inventory",
          inventoryEnv(stores, products.url, { MONGODB_URL: mongoUrl.href }),
        );
        const I = inventory.url;
        const ids = await Promise.all(
          Array.from({ length: 4 }, (_, n) => createProduct(products!.url, `stop stock ${n}`)),
        );
        for (const id of ids) await createStock(I, id, 0);
        mongoProxy.setMode("slow");
        const run = await loadThenSignal(inventory, (w, i) => {
          const id = ids[w % ids.length]!;
          return i % 3 === 2
            ? call(I, `/inventory/${id}`, { timeoutMs: 15_000 })
            : call(I, `/inventory/${id}`, {
              method: "PATCH",
              body: adjust(id, 1),
              timeoutMs: 15_000,
            }).then((r) => ({ ...r, id }));
        });
        mongoProxy.setMode("pass");
        const acked = run.samples.filter((s) => s.id && s.status === 200).length;
        const docs = await stores.mongo.db(stores.mongoDb).collection("inventory")
          .find({ product_id: { $in: ids } }).toArray();
        const total = docs.reduce((sum, d) => sum + (d.quantity as number), 0);
        const failedBefore = run.before.filter((s) => s.status < 200 || s.status >= 300);
        figures("6 shutdown inventory", {
          requests: run.samples.length,
          started_before_signal: run.before.length,
          in_flight_at_signal: run.inFlight.length,
          in_flight_statuses: countBy(run.inFlight, (s) => s.status),
          failed_before_signal: failedBefore.length,
          after_signal: countBy(run.after, (s) => s.status),
          adjustments_acknowledged: acked,
          quantity_stored: total,
          exit: run.exitError ? run.exitError.message : "0",
        });
        await assertNoSecretsInLogs([inventory], [API_KEY]);
        assert.equal(run.exitError, null, String(run.exitError));
        assert.ok(run.inFlight.length >= WORKERS / 2, "requests were in flight at the signal");
        assert.deepEqual(failedBefore.slice(0, 3).map(show), [], "no in-flight request failed");
        assert.equal(total, acked, "the stored quantity is exactly the acknowledged adjustments");
      });
    } finally {
      pgProxy.setMode("pass");
      mongoProxy.setMode("pass");
      try {
        await stopAll([inventory, products]);
      } finally {
        await pgProxy.close();
        await mongoProxy.close();
        await stores.drop();
      }
    }
  },
});
