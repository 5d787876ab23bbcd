import assert from "node:assert/strict";
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
  percentile,
  productsEnv,
  quantityOf,
  type RunningService,
  show,
  sleep,
  startInventoryPair,
  startService,
  stopAll,
} from "./support.ts";
import { type LogLine, waitForLog } from "../e2e/services.ts";

/**
 * Cases 1 and 2: two inventory processes sharing one MongoDB database, one products process on
 * PostgreSQL with the Upstash cache; concurrent purchases and one Idempotency-Key raced over both.
 */
Deno.test({
  name: "reliability: concurrency across two inventory instances on one store",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stores = await createStores("conc");
    let products: RunningService | undefined;
    let inventoryA: RunningService | undefined;
    let inventoryB: RunningService | undefined;
    try {
      products = await startService("products", productsEnv(stores));
      [inventoryA, inventoryB] = await startInventoryPair(stores, products.url);
      const instances = [inventoryA.url, inventoryB.url];

      await t.step("500 one-unit purchases of 100 in stock: exactly 100 succeed", async () => {
        const id = await createProduct(products!.url, "Contended mug");
        await createStock(instances[0]!, id, 100);

        // A reader polls each instance throughout and must never see a negative quantity, nor
        // one that goes up between two of its own reads (only purchases run). Reads of different
        // readers overlap in time, so only each reader's own sequence has an order.
        let buying = true;
        const seen: number[] = [];
        const sequences: number[][] = instances.map(() => []);
        const readerErrors: string[] = [];
        const readers = instances.map(async (base, k) => {
          for (let i = 0; buying && i < 2000; i++) {
            const r = await call(base, `/inventory/${id}`);
            if (r.status !== 200) readerErrors.push(show(r));
            else {
              seen.push(r.doc.data.attributes.quantity);
              sequences[k]!.push(r.doc.data.attributes.quantity);
            }
          }
        });
        while (seen.length < 4) await sleep(10);
        const readsBefore = seen.length;

        const started = performance.now();
        const results = await Promise.all(
          Array.from(
            { length: 500 },
            (_, i) =>
              call(instances[i % 2]!, `/inventory/${id}`, {
                method: "PATCH",
                body: adjust(id, -1),
              }),
          ),
        );
        const elapsed = performance.now() - started;
        const readsDuring = seen.length - readsBefore;
        buying = false;
        await Promise.all(readers);

        const statuses = countBy(results, (r) => r.status);
        const ok = results.filter((r) => r.status === 200);
        const refused = results.filter((r) => r.status === 409);
        const final = await quantityOf(instances[1]!, id);
        const perInstance = instances.map((_, k) =>
          results.filter((r, i) => i % 2 === k && r.status === 200).length
        );
        const negative = seen.filter((q) => q < 0).length;
        let increases = 0;
        for (const own of sequences) {
          for (let i = 1; i < own.length; i++) if (own[i]! > own[i - 1]!) increases++;
        }
        figures("1 concurrency", {
          requests: results.length,
          statuses,
          ok_per_instance: perInstance,
          final,
          reads: seen.length,
          reads_during_purchases: readsDuring,
          min_seen: Math.min(...seen),
          negative_reads: negative,
          reader_errors: readerErrors.length,
          elapsed_ms: Math.round(elapsed),
          p50_ms: Math.round(percentile(results.map((r) => r.ms), 50)),
          max_ms: Math.round(Math.max(...results.map((r) => r.ms))),
        });

        const unexpected = results.filter((r) => r.status !== 200 && r.status !== 409);
        assert.deepEqual(unexpected.map(show).slice(0, 5), [], "only 200 and 409");
        assert.equal(ok.length, 100, "exactly the stock is sold");
        assert.equal(refused.length, 400);
        for (const r of refused) {
          assert.equal(r.doc?.errors?.[0]?.code, "insufficient_stock", show(r));
        }
        // Each success reports a distinct remaining quantity: 99, 98, …, 0.
        const remaining = ok.map((r) => r.doc.data.attributes.quantity).sort((a, b) => a - b);
        assert.deepEqual(remaining, Array.from({ length: 100 }, (_, i) => i));
        assert.equal(final, 0);
        assert.ok(readsDuring > 0, "the readers read while purchases ran");
        assert.equal(negative, 0, "never a negative quantity");
        assert.equal(increases, 0, "the quantity never went up");
        assert.deepEqual(readerErrors.slice(0, 5), []);
      });

      await t.step("100 racing PATCHes with one Idempotency-Key apply once", async () => {
        const id = await createProduct(products!.url, "Idempotent kettle");
        await createStock(instances[0]!, id, 50);
        const key = `rel-idem-${crypto.randomUUID()}`;
        const started = performance.now();
        const results: CallResult[] = await Promise.all(
          Array.from(
            { length: 100 },
            (_, i) =>
              call(instances[i % 2]!, `/inventory/${id}`, {
                method: "PATCH",
                body: adjust(id, -3),
                headers: { "Idempotency-Key": key },
              }),
          ),
        );
        const elapsed = performance.now() - started;
        const final = await quantityOf(instances[0]!, id);
        const replayed = results.filter((r) => r.headers.get("idempotent-replayed") === "true");
        const statuses = countBy(results, (r) => r.status);
        // Log lines are written in batches (at least every 100 ms): wait for the first event on
        // either instance, then long enough for any second one to be out too, before counting.
        const isAdjusted = (l: LogLine) =>
          l.message === "inventory.adjusted" && l.product_id === id;
        await Promise.any([inventoryA!, inventoryB!].map((s) => waitForLog(s, isAdjusted)));
        await sleep(500);
        const adjusted = [inventoryA!, inventoryB!].flatMap((s) => s.logs().filter(isAdjusted));
        figures("2 idempotency", {
          requests: results.length,
          statuses,
          replayed: replayed.length,
          final,
          adjusted_events: adjusted.length,
          elapsed_ms: Math.round(elapsed),
          max_ms: Math.round(Math.max(...results.map((r) => r.ms))),
        });

        assert.equal(final, 47, "applied exactly once");
        // Twins never wait for each other: the store applies the key once and answers every
        // other request with that change (Idempotent-Replayed), on whichever instance it ran.
        assert.deepEqual(statuses, { 200: 100 }, "every request answered 200");
        assert.equal(replayed.length, 99, "Idempotent-Replayed: true on all but one");
        const attributes = new Set(results.map((r) => JSON.stringify(r.doc.data.attributes)));
        assert.equal(attributes.size, 1, `every answer shows the same change: ${[...attributes]}`);
        assert.equal(adjusted.length, 1, "one inventory.adjusted event");
      });

      const lines = await assertNoSecretsInLogs([products, inventoryA, inventoryB], [API_KEY]);
      assert.ok(lines > 0);
    } finally {
      try {
        await stopAll([inventoryA, inventoryB, products]);
      } finally {
        await stores.drop();
      }
    }
  },
});
