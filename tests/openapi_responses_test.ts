/**
 * The OpenAPI documents describe what the services send: each app is built in-process as its route
 * tests build it, real requests cover every documented operation with its success and every error
 * status it can produce (sparse fieldsets, include=product, pagination, Location, 204 included),
 * and every response is checked against the document that same app serves at /openapi.json — the
 * status is documented for the operation, the media type matches, the body validates against the
 * documented schema and the documented headers are there (and no undocumented one).
 */
import assert from "node:assert/strict";
import { DependencyUnavailableError, OutcomeUnknownError } from "@stockroom/kernel";
import { createProductsApp } from "../products/app.ts";
import type { ProductRepository } from "../products/domain/ports.ts";
import { LruProductCache } from "../products/infrastructure/lru_product_cache.ts";
import { SqlProductRepository } from "../products/infrastructure/sql_product_repository.ts";
import { createInventoryApp } from "../inventory/app.ts";
import { createKvReservationStore } from "../inventory/infrastructure/kv_reservation_store.ts";
import type { CatalogProduct, ProductCatalog, StockRepository } from "../inventory/domain/ports.ts";
import { createKvIdempotencyStore } from "../inventory/infrastructure/kv_idempotency_store.ts";
import { createKvStockRepository } from "../inventory/infrastructure/kv_stock_repository.ts";
import { memoryLogger } from "./support/memory_logger.ts";
import {
  coverageGaps,
  documentedClient,
  OpenApiResponseValidator,
} from "./support/openapi_validator.ts";
import { openPglite } from "./support/test_databases.ts";

const KEY = "openapi-responses-key-01";
const BAD_ACCEPT = { Accept: 'application/vnd.api+json; ext="https://example.com/ext"' };
const TOO_LARGE = JSON.stringify({
  data: { type: "x", attributes: { pad: "x".repeat(1_100_000) } },
});

/** A fault switch in front of an adapter: every call fails with `fault` while it is set. */
const KEYED = (key: string) => ({ "Idempotency-Key": key });

function faulty<T extends object>(target: T, state: { fault?: Error }): T {
  return new Proxy(target, {
    get(t, property, receiver) {
      const value = Reflect.get(t, property, receiver);
      if (typeof value !== "function" || property === "close") return value;
      return (...args: unknown[]) =>
        state.fault ? Promise.reject(state.fault) : value.apply(t, args);
    },
  });
}

/** Sets `fault` for the duration of `body`. */
async function during(state: { fault?: Error }, fault: Error, body: () => Promise<unknown>) {
  state.fault = fault;
  try {
    await body();
  } finally {
    state.fault = undefined;
  }
}

/** Statuses of the shared stack no request can provoke here, each with the reason. */
const catchAll = "the error handler's catch-all 500: this handler calls no adapter to fault";
const STACK_UNOBSERVABLE: Record<string, string> = {
  "get /health 500": catchAll,
  "get /health/ready 500": "readiness probes catch every failure and report it as 503",
  "get /openapi.json 500": catchAll,
  "get /docs 500": catchAll,
  "get /metrics 500": catchAll,
};

type Client = ReturnType<typeof documentedClient>;

/** The open routes and /metrics; `fault` makes readiness fail. */
async function commonRoutes(c: Client, fault: () => Promise<void>) {
  await c.expect(200, "GET", "/health", { anonymous: true });
  await c.expect(200, "GET", "/health/ready", { anonymous: true });
  await fault();
  await c.expect(200, "GET", "/openapi.json", { anonymous: true });
  await c.expect(200, "GET", "/docs", { anonymous: true });
  await c.expect(200, "GET", "/metrics");
  await c.expect(401, "GET", "/metrics", { anonymous: true });
  await c.expect(406, "GET", "/metrics", { headers: BAD_ACCEPT });
}

/**
 * Answers that belong to no documented operation, so no operation can document them: 405 for a
 * method a path does not have (its `Allow` must list exactly the documented methods) and 404 for a
 * path no route serves. Both must still be JSON:API error documents of the shared schema.
 */
async function outsideTheDocument(
  app: { request: (p: string, i: RequestInit) => Response | Promise<Response> },
  validator: OpenApiResponseValidator,
  method: string,
  path: string,
  status: 404 | 405,
) {
  assert.equal(validator.match(method, path), undefined, `${method} ${path} is documented`);
  const res = await app.request(path, { method, headers: { "X-API-Key": KEY } });
  assert.equal(res.status, status, `${method} ${path}`);
  if (status === 405) {
    assert.deepEqual(
      res.headers.get("Allow")!.split(", ").sort(),
      validator.documentedMethods(path).sort(),
    );
  }
  assert.equal(res.headers.get("content-type"), "application/vnd.api+json");
  const errors = validator.validateAt(["components", "schemas", "Errors"], await res.json());
  assert.deepEqual(errors, [], `${method} ${path} → ${status} body`);
}

function report(
  c: Client,
  validator: OpenApiResponseValidator,
  unobservable: Record<string, string>,
) {
  const failures = [...c.problems, ...coverageGaps(validator, unobservable)];
  if (failures.length > 0) {
    assert.fail(`the document does not describe the responses:\n${failures.join("\n")}`);
  }
}

Deno.test({
  name: "products: every response matches the document the app serves",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await openPglite();
    const state: { fault?: Error } = {};
    const app = createProductsApp({
      store: faulty(new SqlProductRepository(db.sql) as ProductRepository, state),
      cache: new LruProductCache(),
      cacheTtlSeconds: 60,
      apiKey: KEY,
      logger: memoryLogger("products").logger,
    });
    const validator = await OpenApiResponseValidator.fromApp(app);
    const c = documentedClient(app, validator, KEY);
    const doc = (attributes: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      data: { type: "products", attributes, ...extra },
    });
    const unavailable = new DependencyUnavailableError("database");
    const unknown = new OutcomeUnknownError("database", "read the product to see");
    const crash = new Error("store crashed");
    try {
      await commonRoutes(
        c,
        () =>
          during(
            state,
            unavailable,
            () => c.expect(503, "GET", "/health/ready", { anonymous: true }),
          ),
      );

      // POST /products
      const created = await c.expect(201, "POST", "/products", {
        body: doc({ name: "Mug", description: "Blue", price: 12.5 }),
      });
      const id = created.body.data.id as string;
      assert.equal(created.headers.get("Location"), created.body.data.links.self);
      for (let i = 0; i < 3; i++) {
        await c.expect(201, "POST", "/products", {
          body: doc({ name: `P${i}`, description: "", price: i }),
        });
      }
      const clientId = crypto.randomUUID();
      await c.expect(201, "POST", "/products", {
        body: doc({ name: "Own id", description: "", price: 1 }, { id: clientId }),
      });
      await c.expect(409, "POST", "/products", {
        body: doc({ name: "Own id", description: "", price: 1 }, { id: clientId }),
      });
      await c.expect(409, "POST", "/products", { body: { data: { type: "inventory" } } });
      await c.expect(400, "POST", "/products", { body: "{not json" });
      await c.expect(400, "POST", "/products?sort=name", { body: doc({}) });
      await c.expect(401, "POST", "/products", { body: doc({}), anonymous: true });
      await c.expect(406, "POST", "/products", { body: doc({}), headers: BAD_ACCEPT });
      await c.expect(413, "POST", "/products", { body: TOO_LARGE });
      await c.expect(415, "POST", "/products", {
        body: doc({}),
        headers: { "Content-Type": "application/json" },
      });
      await c.expect(422, "POST", "/products", { body: doc({ name: "", price: -1, extra: 1 }) });
      const valid = doc({ name: "N", description: "", price: 1 });
      await during(state, unavailable, () => c.expect(503, "POST", "/products", { body: valid }));
      await during(state, unknown, () => c.expect(504, "POST", "/products", { body: valid }));
      await during(state, crash, () => c.expect(500, "POST", "/products", { body: valid }));

      // GET /products: pagination links, sparse fieldsets, filters
      const page = await c.expect(200, "GET", "/products?page[size]=2&page[number]=2&sort=-price");
      assert.ok(page.body.links.prev && page.body.links.next, "a middle page links both ways");
      await c.expect(200, "GET", "/products?filter[min_price]=1&filter[name]=P");
      const sparse = await c.expect(200, "GET", "/products?fields[products]=price");
      assert.deepEqual(Object.keys(sparse.body.data[0].attributes), ["price"]);
      await c.expect(200, "GET", "/products?fields[products]=");
      await c.expect(400, "GET", "/products?sort=colour");
      await c.expect(400, "GET", "/products?fields[products]=colour");
      await c.expect(401, "GET", "/products", { anonymous: true });
      await c.expect(406, "GET", "/products", { headers: BAD_ACCEPT });
      await during(state, unavailable, () => c.expect(503, "GET", "/products"));
      await during(state, crash, () => c.expect(500, "GET", "/products"));

      // GET /products/{id}: X-Cache MISS then HIT, sparse fieldsets
      const miss = await c.expect(200, "GET", `/products/${id}`);
      const hit = await c.expect(200, "GET", `/products/${id}`);
      assert.deepEqual(hit.body, miss.body);
      const one = await c.expect(200, "GET", `/products/${id}?fields[products]=price,name`);
      assert.deepEqual(Object.keys(one.body.data.attributes), ["name", "price"], "document order");
      // Conditional reads: 304 with the ETag (from the cache here), a malformed header a 400.
      const etag = hit.headers.get("ETag")!;
      const unchanged = await c.expect(304, "GET", `/products/${id}`, {
        headers: { "If-None-Match": etag },
      });
      assert.equal(unchanged.headers.get("ETag"), etag);
      await c.expect(400, "GET", `/products/${id}`, { headers: { "If-None-Match": "v1" } });
      await c.expect(400, "GET", `/products/${id}?include=product`);
      await c.expect(404, "GET", `/products/${crypto.randomUUID()}`);
      await c.expect(404, "GET", "/products/not-a-uuid");
      await c.expect(401, "GET", `/products/${id}`, { anonymous: true });
      await c.expect(406, "GET", `/products/${id}`, { headers: BAD_ACCEPT });
      const uncached = `/products/${crypto.randomUUID()}`;
      await during(state, unavailable, () => c.expect(503, "GET", uncached));
      await during(state, crash, () => c.expect(500, "GET", uncached));

      // PATCH /products/{id}
      const patch = (attributes: Record<string, unknown>, target = id) =>
        doc(attributes, { id: target });
      await c.expect(200, "PATCH", `/products/${id}`, { body: patch({ price: 13 }) });
      const stale = { "If-Match": etag }; // the tag before that change
      const refused = await c.expect(412, "PATCH", `/products/${id}`, {
        body: patch({ price: 14 }),
        headers: stale,
      });
      const current = refused.headers.get("ETag")!;
      assert.notEqual(current, etag);
      const applied = await c.expect(200, "PATCH", `/products/${id}`, {
        body: patch({ price: 14 }),
        headers: { "If-Match": current },
      });
      assert.notEqual(applied.headers.get("ETag"), current);
      await c.expect(200, "PATCH", `/products/${id}`, { body: patch({}) });
      await c.expect(400, "PATCH", `/products/${id}`, { body: doc({ price: 1 }) });
      const missing = crypto.randomUUID();
      await c.expect(404, "PATCH", `/products/${missing}`, { body: patch({ price: 1 }, missing) });
      await c.expect(409, "PATCH", `/products/${id}`, { body: patch({}, crypto.randomUUID()) });
      await c.expect(401, "PATCH", `/products/${id}`, { body: patch({}), anonymous: true });
      await c.expect(406, "PATCH", `/products/${id}`, { body: patch({}), headers: BAD_ACCEPT });
      await c.expect(413, "PATCH", `/products/${id}`, { body: TOO_LARGE });
      await c.expect(415, "PATCH", `/products/${id}`, {
        body: patch({}),
        headers: { "Content-Type": "text/plain" },
      });
      await c.expect(422, "PATCH", `/products/${id}`, { body: patch({ price: "free" }) });
      const change = { body: patch({ price: 2 }) };
      await during(state, unavailable, () => c.expect(503, "PATCH", `/products/${id}`, change));
      await during(state, unknown, () => c.expect(504, "PATCH", `/products/${id}`, change));
      await during(state, crash, () => c.expect(500, "PATCH", `/products/${id}`, change));

      // DELETE /products/{id}
      await c.expect(400, "DELETE", `/products/${clientId}?force=1`);
      await c.expect(401, "DELETE", `/products/${clientId}`, { anonymous: true });
      await c.expect(406, "DELETE", `/products/${clientId}`, { headers: BAD_ACCEPT });
      await c.expect(413, "DELETE", `/products/${clientId}`, { body: TOO_LARGE });
      await during(state, unavailable, () => c.expect(503, "DELETE", `/products/${clientId}`));
      await during(state, unknown, () => c.expect(504, "DELETE", `/products/${clientId}`));
      await during(state, crash, () => c.expect(500, "DELETE", `/products/${clientId}`));
      await c.expect(400, "DELETE", `/products/${clientId}`, { headers: { "If-Match": "v1" } });
      await c.expect(412, "DELETE", `/products/${clientId}`, { headers: { "If-Match": '"v2"' } });
      const gone = await c.expect(204, "DELETE", `/products/${clientId}`, {
        headers: { "If-Match": '"v1"' },
      });
      assert.equal(gone.body, undefined);
      await c.expect(404, "DELETE", `/products/${clientId}`);

      await outsideTheDocument(app, validator, "DELETE", "/products", 405);
      await outsideTheDocument(app, validator, "PUT", `/products/${id}`, 405);
      await outsideTheDocument(app, validator, "GET", "/products/a/b", 404);
      report(c, validator, STACK_UNOBSERVABLE);
    } finally {
      await db.close();
    }
  },
});

/** The products service as the inventory sees it: known products, and a switch to take it down. */
function fakeCatalog(): ProductCatalog & { known: Set<string>; down: boolean } {
  return {
    known: new Set<string>(),
    down: false,
    find(productId: string): Promise<CatalogProduct | null> {
      if (this.down) return Promise.reject(new DependencyUnavailableError("products service"));
      if (!this.known.has(productId)) return Promise.resolve(null);
      const at = new Date().toISOString();
      return Promise.resolve({
        id: productId,
        resource: {
          type: "products",
          id: productId,
          attributes: { name: "P", description: "", price: 1, created_at: at, updated_at: at },
          links: { self: `http://products.test/products/${productId}` },
        },
      });
    },
    ping() {
      return this.down ? Promise.reject(new Error("products down")) : Promise.resolve();
    },
  };
}

Deno.test({
  name: "inventory: every response matches the document the app serves",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const kv = await Deno.openKv(":memory:");
    const state: { fault?: Error } = {};
    const catalog = fakeCatalog();
    const { app } = createInventoryApp({
      reservations: faulty(createKvReservationStore(kv), state),
      repository: faulty(createKvStockRepository(kv, { closeKv: false }) as StockRepository, state),
      idempotencyStore: createKvIdempotencyStore(kv),
      catalog,
      productsServiceUrl: "http://products.test",
      apiKey: KEY,
      logger: memoryLogger("inventory").logger,
    });
    const validator = await OpenApiResponseValidator.fromApp(app);
    const c = documentedClient(app, validator, KEY);
    const doc = (attributes: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      data: { type: "inventory", attributes, ...extra },
    });
    const product = () => {
      const id = crypto.randomUUID();
      catalog.known.add(id);
      return id;
    };
    const unavailable = new DependencyUnavailableError("inventory store");
    const unknown = new OutcomeUnknownError("database", "retry with the same Idempotency-Key");
    const crash = new Error("store crashed");
    const productsDown = async (body: () => Promise<unknown>) => {
      catalog.down = true;
      try {
        await body();
      } finally {
        catalog.down = false;
      }
    };
    try {
      await commonRoutes(c, async () => {
        // Products is optional for readiness: down, it degrades; the store down is a 503.
        await productsDown(() => c.expect(200, "GET", "/health/ready", { anonymous: true }));
        await during(
          state,
          unavailable,
          () => c.expect(503, "GET", "/health/ready", { anonymous: true }),
        );
      });

      // POST /inventory, with idempotent replays
      const id = product();
      const created = await c.expect(201, "POST", "/inventory", {
        body: doc({ product_id: id, quantity: 10 }),
      });
      assert.equal(created.body.data.relationships.product.data.id, id);
      for (let i = 0; i < 3; i++) {
        await c.expect(201, "POST", "/inventory", {
          body: doc({ product_id: product(), quantity: i }),
        });
      }
      const keyed = product();
      const once = {
        body: doc({ product_id: keyed, quantity: 5 }),
        headers: { "Idempotency-Key": "k-1" },
      };
      await c.expect(201, "POST", "/inventory", once);
      const replayedCreate = await c.expect(201, "POST", "/inventory", once);
      assert.equal(replayedCreate.headers.get("Idempotent-Replayed"), "true");
      await c.expect(422, "POST", "/inventory", {
        body: doc({ product_id: keyed, quantity: 6 }),
        headers: { "Idempotency-Key": "k-1" },
      });
      await c.expect(400, "POST", "/inventory", {
        body: doc({ product_id: product(), quantity: 1 }),
        headers: { "Idempotency-Key": "bad key" },
      });
      await c.expect(400, "POST", "/inventory", { body: "[" });
      await c.expect(409, "POST", "/inventory", { body: doc({ product_id: id, quantity: 1 }) });
      await c.expect(409, "POST", "/inventory", { body: { data: { type: "products" } } });
      await c.expect(422, "POST", "/inventory", {
        body: doc({ product_id: crypto.randomUUID(), quantity: 1 }),
      });
      await c.expect(422, "POST", "/inventory", { body: doc({ product_id: "x", quantity: -1 }) });
      await c.expect(401, "POST", "/inventory", { body: doc({}), anonymous: true });
      await c.expect(406, "POST", "/inventory", { body: doc({}), headers: BAD_ACCEPT });
      await c.expect(413, "POST", "/inventory", { body: TOO_LARGE });
      await c.expect(415, "POST", "/inventory", {
        body: doc({}),
        headers: { "Content-Type": "application/vnd.api+json; ext=bulk" },
      });
      const fresh = { body: doc({ product_id: product(), quantity: 1 }) };
      await productsDown(() => c.expect(503, "POST", "/inventory", fresh));
      await during(state, unavailable, () => c.expect(503, "POST", "/inventory", fresh));
      await during(state, unknown, () => c.expect(504, "POST", "/inventory", fresh));
      await during(state, crash, () => c.expect(500, "POST", "/inventory", fresh));

      // GET /inventory: pagination, include=product, sparse fieldsets
      const page = await c.expect(200, "GET", "/inventory?page[size]=2&page[number]=2");
      assert.ok(page.body.links.prev && page.body.links.next, "a middle page links both ways");
      const compound = await c.expect(200, "GET", "/inventory?include=product&sort=-quantity");
      assert.ok(compound.body.included.length > 0, "a compound document");
      const sparse = await c.expect(200, "GET", "/inventory?fields[inventory]=quantity");
      assert.deepEqual(Object.keys(sparse.body.data[0]), ["type", "id", "attributes", "links"]);
      assert.deepEqual(Object.keys(sparse.body.data[0].attributes), ["quantity"]);
      await c.expect(200, "GET", "/inventory?fields[inventory]=quantity,product&include=product");
      await c.expect(200, "GET", "/inventory?filter[max_quantity]=1");
      await c.expect(400, "GET", "/inventory?include=owner");
      await c.expect(401, "GET", "/inventory", { anonymous: true });
      await c.expect(406, "GET", "/inventory", { headers: BAD_ACCEPT });
      await productsDown(() => c.expect(503, "GET", "/inventory?include=product"));
      await during(state, unavailable, () => c.expect(503, "GET", "/inventory"));
      await during(state, crash, () => c.expect(500, "GET", "/inventory"));

      // GET /inventory/{product_id}
      await c.expect(200, "GET", `/inventory/${id}`);
      const one = await c.expect(200, "GET", `/inventory/${id}?include=product`);
      assert.equal(one.body.included[0].id, id);
      const quantityOnly = await c.expect(
        200,
        "GET",
        `/inventory/${id}?fields[inventory]=quantity`,
      );
      assert.deepEqual(Object.keys(quantityOnly.body.data.attributes), ["quantity"]);
      catalog.known.delete(keyed);
      const orphan = await c.expect(200, "GET", `/inventory/${keyed}?include=product`);
      assert.deepEqual(orphan.body.included, [], "a product gone from the catalog");
      await c.expect(400, "GET", `/inventory/${id}?page[size]=1`);
      await c.expect(404, "GET", `/inventory/${crypto.randomUUID()}`);
      await c.expect(404, "GET", "/inventory/nope");
      await c.expect(401, "GET", `/inventory/${id}`, { anonymous: true });
      await c.expect(406, "GET", `/inventory/${id}`, { headers: BAD_ACCEPT });
      await productsDown(() => c.expect(503, "GET", `/inventory/${id}?include=product`));
      await during(state, unavailable, () => c.expect(503, "GET", `/inventory/${id}`));
      await during(state, crash, () => c.expect(500, "GET", `/inventory/${id}`));

      // PATCH /inventory/{product_id}
      const patch = (attributes: Record<string, unknown>, target = id) =>
        doc(attributes, { id: target });
      const path = `/inventory/${id}`;
      await c.expect(200, "PATCH", path, { body: patch({ quantity_delta: -2 }) });
      await c.expect(200, "PATCH", path, { body: patch({ quantity: 9 }) });
      const buy = { body: patch({ quantity_delta: -1 }), headers: { "Idempotency-Key": "k-2" } };
      await c.expect(200, "PATCH", path, buy);
      const replay = await c.expect(200, "PATCH", path, buy);
      assert.equal(replay.body.data.attributes.quantity, 8);
      assert.equal(replay.headers.get("Idempotent-Replayed"), "true");
      const oversell = {
        body: patch({ quantity_delta: -100 }),
        headers: { "Idempotency-Key": "k-3" },
      };
      await c.expect(409, "PATCH", path, oversell);
      const replayedError = await c.expect(409, "PATCH", path, oversell);
      assert.equal(replayedError.headers.get("Idempotent-Replayed"), "true");
      await c.expect(400, "PATCH", path, { body: doc({ quantity: 1 }) });
      const missing = crypto.randomUUID();
      await c.expect(404, "PATCH", `/inventory/${missing}`, {
        body: patch({ quantity: 1 }, missing),
      });
      await c.expect(409, "PATCH", path, { body: patch({ quantity_delta: -100 }) });
      await c.expect(409, "PATCH", path, { body: patch({ quantity: 1 }, missing) });
      await c.expect(422, "PATCH", path, { body: patch({ quantity: 1, quantity_delta: 1 }) });
      await c.expect(401, "PATCH", path, { body: patch({}), anonymous: true });
      await c.expect(406, "PATCH", path, { body: patch({}), headers: BAD_ACCEPT });
      await c.expect(413, "PATCH", path, { body: TOO_LARGE });
      await c.expect(415, "PATCH", path, { body: patch({}), headers: { "Content-Type": "" } });
      const change = { body: patch({ quantity: 3 }) };
      await during(state, unavailable, () => c.expect(503, "PATCH", path, change));
      await during(state, unknown, () => c.expect(504, "PATCH", path, change));
      await during(state, crash, () => c.expect(500, "PATCH", path, change));

      // Conditional requests: 304 on a current tag, 412 on a stale one.
      const current = await c.expect(200, "GET", path);
      const etag = current.headers.get("ETag")!;
      await c.expect(304, "GET", path, { headers: { "If-None-Match": etag } });
      await c.expect(400, "GET", path, { headers: { "If-None-Match": "no-quotes" } });
      await c.expect(412, "PATCH", path, { ...change, headers: { "If-Match": '"s1"' } });
      await c.expect(200, "PATCH", path, { ...change, headers: { "If-Match": etag } });
      await c.expect(412, "DELETE", path, { headers: { "If-Match": etag } });

      // GET /inventory/{product_id}/movements
      const ledgerPath = `${path}/movements`;
      const firstPage = await c.expect(200, "GET", `${ledgerPath}?page[size]=2`);
      assert.equal(firstPage.body.data.length, 2);
      await c.expect(
        200,
        "GET",
        new URL(firstPage.body.links.next).pathname + new URL(firstPage.body.links.next).search,
      );
      await c.expect(400, "GET", `${ledgerPath}?page[after]=x`);
      await c.expect(401, "GET", ledgerPath, { anonymous: true });
      await c.expect(404, "GET", `/inventory/${crypto.randomUUID()}/movements`);
      await c.expect(406, "GET", ledgerPath, { headers: BAD_ACCEPT });
      await during(state, unavailable, () => c.expect(503, "GET", ledgerPath));
      await during(state, crash, () => c.expect(500, "GET", ledgerPath));

      // DELETE /inventory/{product_id}
      await c.expect(400, "DELETE", `${path}?x=1`);
      await c.expect(401, "DELETE", path, { anonymous: true });
      await c.expect(406, "DELETE", path, { headers: BAD_ACCEPT });
      await c.expect(413, "DELETE", path, { body: TOO_LARGE });
      await during(state, unavailable, () => c.expect(503, "DELETE", path));
      await during(state, unknown, () => c.expect(504, "DELETE", path));
      await during(state, crash, () => c.expect(500, "DELETE", path));
      await c.expect(204, "DELETE", path);
      await c.expect(404, "DELETE", path);

      // Reservations: hold, read, commit, release, extend, and every refusal.
      const cart = async (quantity: number) => {
        const stocked = product();
        await c.expect(201, "POST", "/inventory", { body: doc({ product_id: stocked, quantity }) });
        return stocked;
      };
      const [r1, r2] = [await cart(5), await cart(1)];
      const hold = (lines: unknown[], extra: Record<string, unknown> = {}) => ({
        body: { data: { type: "reservations", attributes: { lines, ...extra } } },
      });
      const held = await c.expect(
        201,
        "POST",
        "/reservations",
        hold([
          { product_id: r1, quantity: 2 },
          { product_id: r2, quantity: 1 },
        ], { ttl_seconds: 60, reference: "cart-1" }),
      );
      const rid = held.body.data.id;
      const keyedCart = { ...hold([{ product_id: r1, quantity: 1 }]), headers: KEYED("c-1") };
      await c.expect(201, "POST", "/reservations", keyedCart);
      const cartReplay = await c.expect(201, "POST", "/reservations", keyedCart);
      assert.equal(cartReplay.headers.get("Idempotent-Replayed"), "true");
      await c.expect(409, "POST", "/reservations", hold([{ product_id: r2, quantity: 1 }]));
      await c.expect(422, "POST", "/reservations", hold([{ product_id: product(), quantity: 1 }]));
      await c.expect(422, "POST", "/reservations", hold([]));
      await c.expect(403, "POST", "/reservations", {
        body: {
          data: {
            type: "reservations",
            id: rid,
            attributes: { lines: [{ product_id: r1, quantity: 1 }] },
          },
        },
      });
      await c.expect(400, "POST", "/reservations", { body: "[" });
      await c.expect(401, "POST", "/reservations", { body: hold([]).body, anonymous: true });
      await c.expect(406, "POST", "/reservations", { ...hold([]), headers: BAD_ACCEPT });
      await c.expect(413, "POST", "/reservations", { body: TOO_LARGE });
      await c.expect(415, "POST", "/reservations", {
        ...hold([]),
        headers: { "Content-Type": "application/vnd.api+json; ext=bulk" },
      });
      const another = hold([{ product_id: r1, quantity: 1 }]);
      await during(state, unavailable, () => c.expect(503, "POST", "/reservations", another));
      await during(state, unknown, () => c.expect(504, "POST", "/reservations", another));
      await during(state, crash, () => c.expect(500, "POST", "/reservations", another));

      await c.expect(200, "GET", "/reservations?page[size]=1&filter[status]=held");
      await c.expect(200, "GET", `/reservations?filter[product_id]=${r1}`);
      await c.expect(400, "GET", "/reservations?filter[status]=lost");
      await c.expect(401, "GET", "/reservations", { anonymous: true });
      await c.expect(406, "GET", "/reservations", { headers: BAD_ACCEPT });
      await during(state, unavailable, () => c.expect(503, "GET", "/reservations"));
      await during(state, crash, () => c.expect(500, "GET", "/reservations"));

      const rpath = `/reservations/${rid}`;
      const read = await c.expect(200, "GET", rpath);
      const rtag = read.headers.get("ETag")!;
      await c.expect(304, "GET", rpath, { headers: { "If-None-Match": rtag } });
      await c.expect(400, "GET", `${rpath}?x=1`);
      await c.expect(401, "GET", rpath, { anonymous: true });
      await c.expect(404, "GET", `/reservations/${crypto.randomUUID()}`);
      await c.expect(406, "GET", rpath, { headers: BAD_ACCEPT });
      await during(state, unavailable, () => c.expect(503, "GET", rpath));
      await during(state, crash, () => c.expect(500, "GET", rpath));

      const status = (attributes: Record<string, unknown>, target = rid) => ({
        body: { data: { type: "reservations", id: target, attributes } },
      });
      await c.expect(200, "PATCH", rpath, status({ ttl_seconds: 120 }));
      await c.expect(412, "PATCH", rpath, {
        ...status({ status: "committed" }),
        headers: { "If-Match": rtag },
      });
      await c.expect(400, "PATCH", rpath, { body: { data: { type: "reservations" } } });
      await c.expect(
        404,
        "PATCH",
        `/reservations/${rid.replace(/^./, rid[0] === "0" ? "1" : "0")}`,
        status({ status: "released" }, rid.replace(/^./, rid[0] === "0" ? "1" : "0")),
      );
      await c.expect(422, "PATCH", rpath, status({ status: "lost" }));
      await c.expect(401, "PATCH", rpath, { ...status({}), anonymous: true });
      await c.expect(406, "PATCH", rpath, { ...status({}), headers: BAD_ACCEPT });
      await c.expect(413, "PATCH", rpath, { body: TOO_LARGE });
      await c.expect(415, "PATCH", rpath, { ...status({}), headers: { "Content-Type": "" } });
      const commit = status({ status: "committed" });
      await during(state, unavailable, () => c.expect(503, "PATCH", rpath, commit));
      await during(state, unknown, () => c.expect(504, "PATCH", rpath, commit));
      await during(state, crash, () => c.expect(500, "PATCH", rpath, commit));
      await c.expect(200, "PATCH", rpath, commit);
      await c.expect(409, "PATCH", rpath, status({ status: "released" }));

      await outsideTheDocument(app, validator, "DELETE", "/inventory", 405);
      await outsideTheDocument(app, validator, "PUT", path, 405);
      await outsideTheDocument(app, validator, "GET", "/stock", 404);
      report(c, validator, STACK_UNOBSERVABLE);
    } finally {
      kv.close();
    }
  },
});
