import assert from "node:assert/strict";
import { request, type RunningService, startService, waitForLog } from "./services.ts";

/**
 * The seed's flows across two real processes: inventory calls products over HTTP with the key and
 * the request id, each store is the one `main.ts` picks from the environment, and both processes
 * shut down gracefully on SIGTERM.
 */

const REAL_STORE_VARS = [
  "DATABASE_URL",
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "MONGODB_URL",
] as const;
const realStores = REAL_STORE_VARS.every((name) => Boolean(Deno.env.get(name)));

function hex(bytes = 6): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16))
    .map((h) => h.padStart(2, "0")).join("");
}

async function createProduct(products: RunningService, name: string): Promise<string> {
  const res = await request(products.url, "/products", {
    method: "POST",
    body: { data: { type: "products", attributes: { name, description: "e2e", price: 12.5 } } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.doc));
  assert.equal(res.headers.get("location"), `${products.url}/products/${res.doc.data.id}`);
  return res.doc.data.id;
}

function createStock(
  inventory: RunningService,
  productId: string,
  quantity: number,
  headers: Record<string, string> = {},
) {
  return request(inventory.url, "/inventory", {
    method: "POST",
    headers,
    body: { data: { type: "inventory", attributes: { product_id: productId, quantity } } },
  });
}

function changeStock(
  inventory: RunningService,
  productId: string,
  attributes: { quantity_delta: number } | { quantity: number },
  headers: Record<string, string> = {},
) {
  return request(inventory.url, `/inventory/${productId}`, {
    method: "PATCH",
    headers,
    body: { data: { type: "inventory", id: productId, attributes } },
  });
}

async function quantityOf(inventory: RunningService, productId: string): Promise<number> {
  const res = await request(inventory.url, `/inventory/${productId}`);
  assert.equal(res.status, 200, JSON.stringify(res.doc));
  return res.doc.data.attributes.quantity;
}

/**
 * stop() asserts a graceful exit (code 0). Every process is stopped even when one assertion fails,
 * so a failing run never leaves a process behind; the first failure is reported.
 */
async function stopAll(services: (RunningService | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(services.map((s) => s?.stop()));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

interface Configuration {
  productsEnv: Record<string, string>;
  inventoryEnv: Record<string, string>;
}

async function runFlows(t: Deno.TestContext, config: Configuration): Promise<void> {
  const products = await startService("products", config.productsEnv);
  let inventory: RunningService | undefined;
  try {
    inventory = await startService("inventory", {
      ...config.inventoryEnv,
      PRODUCTS_SERVICE_URL: products.url,
    });
    const inv = inventory;

    await t.step(
      "stock is created, bought, refused when oversold, restocked, set, included, listed, deleted",
      async () => {
        const id = await createProduct(products, "Mug");
        const created = await createStock(inv, id, 10);
        assert.equal(created.status, 201, JSON.stringify(created.doc));
        assert.equal(created.headers.get("location"), `${inv.url}/inventory/${id}`);
        assert.equal(created.doc.data.attributes.quantity, 10);
        assert.deepEqual(created.doc.data.relationships.product, {
          data: { type: "products", id },
          links: { related: `${products.url}/products/${id}` },
        });

        const bought = await changeStock(inv, id, { quantity_delta: -5 });
        assert.equal(bought.status, 200);
        assert.equal(bought.doc.data.attributes.quantity, 5);

        const oversold = await changeStock(inv, id, { quantity_delta: -6 });
        assert.equal(oversold.status, 409);
        assert.equal(oversold.doc.errors[0].code, "insufficient_stock");
        assert.equal(oversold.doc.errors[0].meta.available, 5);
        assert.equal(await quantityOf(inv, id), 5);

        const restocked = await changeStock(inv, id, { quantity_delta: 10 });
        assert.equal(restocked.doc.data.attributes.quantity, 15);
        const set = await changeStock(inv, id, { quantity: 3 });
        assert.equal(set.status, 200);
        assert.equal(set.doc.data.attributes.quantity, 3);

        const withProduct = await request(inv.url, `/inventory/${id}?include=product`);
        assert.equal(withProduct.status, 200);
        assert.equal(withProduct.doc.included.length, 1);
        assert.equal(withProduct.doc.included[0].type, "products");
        assert.equal(withProduct.doc.included[0].id, id);
        assert.equal(withProduct.doc.included[0].attributes.name, "Mug");

        const low = await request(inv.url, "/inventory?filter[max_quantity]=5&page[size]=100");
        assert.equal(low.status, 200);
        assert.ok(low.doc.data.some((r: { id: string }) => r.id === id), "listed as low stock");
        for (const r of low.doc.data) assert.ok(r.attributes.quantity <= 5);

        assert.equal(
          (await request(inv.url, `/inventory/${id}`, { method: "DELETE" })).status,
          204,
        );
        const gone = await request(inv.url, `/inventory/${id}`);
        assert.equal(gone.status, 404);
        assert.equal(
          (await request(products.url, `/products/${id}`, { method: "DELETE" })).status,
          204,
        );
      },
    );

    await t.step("X-Request-ID travels to products and into both services' logs", async () => {
      const id = await createProduct(products, "Lamp");
      const requestId = `e2e-${hex()}`;
      const created = await createStock(inv, id, 10, { "X-Request-ID": requestId });
      assert.equal(created.status, 201);
      assert.equal(created.headers.get("x-request-id"), requestId);
      const outbound = await waitForLog(
        products,
        (l) =>
          l.message === "request completed" && l.path === `/products/${id}` &&
          l.request_id === requestId,
      );
      assert.equal(outbound.status, 200);
      assert.equal(outbound.method, "GET");
      await waitForLog(
        inv,
        (l) =>
          l.request_id === requestId && l.message === "request completed" &&
          l.path === "/inventory" && l.status === 201,
      );

      const patchId = `e2e-${hex()}`;
      const bought = await changeStock(inv, id, { quantity_delta: -2 }, {
        "X-Request-ID": patchId,
      });
      assert.equal(bought.status, 200);
      const event = await waitForLog(
        inv,
        (l) => l.message === "inventory.adjusted" && l.request_id === patchId,
      );
      assert.equal(event.product_id, id);
      assert.equal(event.delta, -2);
      assert.equal(event.before, 10);
      assert.equal(event.after, 8);
    });

    await t.step(
      "stock for an unknown product is refused with 422 and a second record with 409",
      async () => {
        const missing = crypto.randomUUID();
        const refused = await createStock(inv, missing, 5);
        assert.equal(refused.status, 422, JSON.stringify(refused.doc));
        assert.equal(refused.doc.errors[0].source.pointer, "/data/attributes/product_id");
        assert.equal((await request(inv.url, `/inventory/${missing}`)).status, 404);

        const id = await createProduct(products, "Kettle");
        assert.equal((await createStock(inv, id, 5)).status, 201);
        const twice = await createStock(inv, id, 7);
        assert.equal(twice.status, 409, JSON.stringify(twice.doc));
        assert.equal(await quantityOf(inv, id), 5);
      },
    );

    await t.step(
      "an Idempotency-Key replays the first answer and refuses a different body",
      async () => {
        const id = await createProduct(products, "Teapot");
        assert.equal((await createStock(inv, id, 10)).status, 201);
        const key = { "Idempotency-Key": "k1" };
        const first = await changeStock(inv, id, { quantity_delta: -1 }, key);
        const second = await changeStock(inv, id, { quantity_delta: -1 }, key);
        assert.equal(first.status, 200);
        assert.equal(first.headers.get("idempotent-replayed"), null);
        assert.equal(second.status, first.status);
        assert.deepEqual(second.doc, first.doc);
        assert.equal(second.headers.get("idempotent-replayed"), "true");
        assert.equal(await quantityOf(inv, id), 9);

        const reused = await changeStock(inv, id, { quantity_delta: -2 }, key);
        assert.equal(reused.status, 422, JSON.stringify(reused.doc));
        assert.equal(await quantityOf(inv, id), 9);
      },
    );

    await t.step({
      name: "100 concurrent single-unit purchases of 50 in stock: 50 succeed, 50 are refused",
      fn: async () => {
        const id = await createProduct(products, "Limited edition");
        assert.equal((await createStock(inv, id, 50)).status, 201);
        const answers = await Promise.all(
          Array.from({ length: 100 }, () => changeStock(inv, id, { quantity_delta: -1 })),
        );
        const ok = answers.filter((a) => a.status === 200);
        const refused = answers.filter((a) => a.status === 409);
        assert.equal(ok.length, 50, `statuses: ${answers.map((a) => a.status).join(",")}`);
        assert.equal(refused.length, 50);
        for (const a of refused) assert.equal(a.doc.errors[0].code, "insufficient_stock");
        assert.equal(await quantityOf(inv, id), 0);
      },
    });

    // Last: it leaves products stopped. Its own exit code is part of what it checks.
    await t.step(
      "with products down, creating stock answers 503 quickly and writes nothing",
      async () => {
        await products.stop();
        assert.ok(products.logs().some((l) => l.message === "server.stopped"));
        const id = crypto.randomUUID();
        const started = performance.now();
        const res = await createStock(inv, id, 5);
        const elapsed = performance.now() - started;
        assert.equal(res.status, 503, JSON.stringify(res.doc));
        assert.equal(res.doc.errors[0].status, "503");
        assert.ok(elapsed < 10_000, `answered after ${Math.round(elapsed)} ms`);
        assert.equal((await request(inv.url, `/inventory/${id}`)).status, 404);
      },
    );
  } finally {
    await stopAll([inventory, products]);
  }
}

/** Best effort: a leftover `e2e_*` database is harmless and must not hide a flow failure. */
async function dropMongoDatabase(url: string, name: string): Promise<void> {
  // Loaded here so the embedded run never loads the driver.
  const { MongoClient } = await import("mongodb");
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 3000 });
  try {
    await client.db(name).dropDatabase();
  } catch (err) {
    console.warn(`could not drop MongoDB database ${name}: ${(err as Error).message}`);
  } finally {
    await client.close().catch(() => {});
  }
}

Deno.test("both processes on embedded stores (PGlite, LRU, Deno KV) serve the seed's flows", (t) =>
  runFlows(t, { productsEnv: {}, inventoryEnv: {} }));

Deno.test({
  name: "both processes on PostgreSQL, Upstash REST and MongoDB serve the seed's sequential flows",
  ignore: !realStores,
  // The mongodb driver used to drop the database finishes socket and timer clean-up after close()
  // resolves; the service processes themselves are always stopped and awaited.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const env = (name: string) => Deno.env.get(name)!;
    const mongoUrl = env("MONGODB_URL");
    // A database of its own, so the low-stock listing sees only this run's records.
    const mongoDb = `e2e_${hex()}`;
    try {
      await runFlows(t, {
        productsEnv: {
          DATABASE_URL: env("DATABASE_URL"),
          UPSTASH_REDIS_REST_URL: env("UPSTASH_REDIS_REST_URL"),
          UPSTASH_REDIS_REST_TOKEN: env("UPSTASH_REDIS_REST_TOKEN"),
        },
        inventoryEnv: { MONGODB_URL: mongoUrl, MONGODB_DB: mongoDb },
      });
    } finally {
      await dropMongoDatabase(mongoUrl, mongoDb);
    }
  },
});
