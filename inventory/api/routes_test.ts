import assert from "node:assert/strict";
import { memoryLogger } from "../../tests/support/memory_logger.ts";
import { appRequester, jsonApiBody } from "../../tests/support/jsonapi.ts";
import { createInventoryApp } from "../app.ts";
import { inventoryBackends } from "../../tests/support/inventory_stores.ts";
import { HttpProductCatalog } from "../infrastructure/http_product_catalog.ts";

const KEY = "inventory-test-key-001";

/** A real products server: known ids answer 200, others 404, and `down` makes it answer 503. */
function productsServer() {
  const known = new Set<string>();
  const state = { down: false, calls: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    state.calls++;
    if (state.down) return new Response(null, { status: 503 });
    const id = new URL(req.url).pathname.split("/").pop()!;
    return known.has(id)
      ? Response.json({ data: { type: "products", id, attributes: { name: `P ${id}` } } })
      : Response.json({ errors: [{ status: "404" }] }, { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, known, state, server };
}

for (const backend of inventoryBackends) {
  Deno.test({
    name: `inventory API (${backend.name})`,
    ignore: backend.ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const stores = await backend.open();
      const products = productsServer();
      const { logger, lines } = memoryLogger("inventory");
      const { app } = createInventoryApp({
        ...stores,
        catalog: new HttpProductCatalog({
          baseUrl: products.url,
          apiKey: KEY,
          retry: { baseDelayMs: 1, maxDelayMs: 5, totalTimeoutMs: 1000 },
        }),
        productsServiceUrl: products.url,
        apiKey: KEY,
        logger,
      });
      const req = appRequester(app, KEY);
      const newProduct = () => {
        const id = crypto.randomUUID();
        products.known.add(id);
        return id;
      };
      const create = async (productId: string, quantity: number) => {
        const res = await req("/inventory", {
          method: "POST",
          body: { data: { type: "inventory", attributes: { product_id: productId, quantity } } },
        });
        assert.equal(res.status, 201);
        return (await jsonApiBody(res)).data;
      };
      const patch = (id: string, attributes: unknown, headers: Record<string, string> = {}) =>
        req(`/inventory/${id}`, {
          method: "PATCH",
          body: { data: { type: "inventory", id, attributes } },
          headers,
        });
      const quantity = async (id: string) =>
        (await jsonApiBody(await req(`/inventory/${id}`))).data.attributes.quantity;
      const errorOf = async (res: Response, status: number) => {
        assert.equal(res.status, status);
        return (await jsonApiBody(res)).errors[0];
      };

      try {
        await t.step("POST creates a record with Location and a product relationship", async () => {
          const id = newProduct();
          const res = await req("/inventory", {
            method: "POST",
            body: { data: { type: "inventory", attributes: { product_id: id, quantity: 7 } } },
          });
          assert.equal(res.status, 201);
          assert.equal(res.headers.get("Location"), `http://localhost/inventory/${id}`);
          const { data } = await jsonApiBody(res);
          assert.equal(data.id, id);
          assert.equal(data.attributes.product_id, id);
          assert.equal(data.attributes.quantity, 7);
          assert.deepEqual(data.relationships.product, {
            data: { type: "products", id },
            links: { related: `${products.url}/products/${id}` },
          });
          const again = await req("/inventory", {
            method: "POST",
            body: { data: { type: "inventory", attributes: { product_id: id, quantity: 1 } } },
          });
          assert.equal((await errorOf(again, 409)).code, "stock_exists");
          assert.equal(await quantity(id), 7);
        });

        await t.step(
          "POST for an unknown product is 422 on product_id and writes nothing",
          async () => {
            const id = crypto.randomUUID();
            const res = await req("/inventory", {
              method: "POST",
              body: { data: { type: "inventory", attributes: { product_id: id, quantity: 1 } } },
            });
            const error = await errorOf(res, 422);
            assert.deepEqual(error.source, { pointer: "/data/attributes/product_id" });
            await errorOf(await req(`/inventory/${id}`), 404);
          },
        );

        await t.step("POST answers 503 when products is unavailable, writing nothing", async () => {
          const id = newProduct();
          products.state.down = true;
          try {
            const res = await req("/inventory", {
              method: "POST",
              body: { data: { type: "inventory", attributes: { product_id: id, quantity: 1 } } },
              headers: { "X-Request-ID": "req-503" },
            });
            const error = await errorOf(res, 503);
            assert.equal(error.code, "products_service_unavailable");
          } finally {
            products.state.down = false;
          }
          await errorOf(await req(`/inventory/${id}`), 404);
        });

        await t.step("PATCH runs the purchase flow and refuses to oversell", async () => {
          const id = newProduct();
          await create(id, 10);
          const bought = await patch(id, { quantity_delta: -5 });
          assert.equal(bought.status, 200);
          assert.equal((await jsonApiBody(bought)).data.attributes.quantity, 5);
          const oversold = await errorOf(await patch(id, { quantity_delta: -6 }), 409);
          assert.equal(oversold.code, "insufficient_stock");
          assert.deepEqual(oversold.meta, { available: 5 });
          assert.equal(await quantity(id), 5);
          assert.equal(
            (await jsonApiBody(await patch(id, { quantity_delta: 10 }))).data.attributes.quantity,
            15,
          );
          assert.equal(
            (await jsonApiBody(await patch(id, { quantity: 3 }))).data.attributes.quantity,
            3,
          );
          const events = lines().filter((l) =>
            l.message === "inventory.adjusted" && l.product_id === id
          );
          assert.deepEqual(
            events.map((e) => [e.delta, e.before, e.after]),
            [[-5, 10, 5], [10, 5, 15], [-12, 15, 3]],
          );
          assert.ok(events.every((e) => typeof e.request_id === "string"));
        });

        await t.step(
          "PATCH rejects hostile and invalid bodies with 4xx and changes nothing",
          async () => {
            const id = newProduct();
            await create(id, 5);
            const cases: [unknown, number, string][] = [
              [{ quantity_delta: { $ne: null } }, 422, "/data/attributes/quantity_delta"],
              [{ quantity_delta: -1.5 }, 422, "/data/attributes/quantity_delta"],
              [{ quantity_delta: 1e300 }, 422, "/data/attributes/quantity_delta"],
              [{ quantity_delta: "-1" }, 422, "/data/attributes/quantity_delta"],
              [{ quantity: -1 }, 422, "/data/attributes/quantity"],
              [{ quantity: 2, quantity_delta: -1 }, 422, "/data/attributes"],
              [{}, 422, "/data/attributes"],
              [{ quantity_delta: -1, colour: "red" }, 422, "/data/attributes/colour"],
              [{ quantity_delta: -1, __proto__x: 1 }, 422, "/data/attributes/__proto__x"],
            ];
            for (const [attributes, status, pointer] of cases) {
              const error = await errorOf(await patch(id, attributes), status);
              assert.equal(error.source.pointer, pointer, JSON.stringify(attributes));
            }
            const proto = await req(`/inventory/${id}`, {
              method: "PATCH",
              body:
                `{"data":{"type":"inventory","id":"${id}","attributes":{"__proto__":{"quantity":0}}}}`,
            });
            await errorOf(proto, 422);
            const typeMismatch = await req(`/inventory/${id}`, {
              method: "PATCH",
              body: { data: { type: "products", id, attributes: { quantity: 1 } } },
            });
            await errorOf(typeMismatch, 409);
            const idMismatch = await req(`/inventory/${id}`, {
              method: "PATCH",
              body: {
                data: { type: "inventory", id: crypto.randomUUID(), attributes: { quantity: 1 } },
              },
            });
            assert.deepEqual((await errorOf(idMismatch, 409)).source, { pointer: "/data/id" });
            assert.equal(await quantity(id), 5);
            const missing = crypto.randomUUID();
            await errorOf(await patch(missing, { quantity_delta: -1 }), 404);
            await errorOf(await req("/inventory/not-a-uuid"), 404);
            const operatorId = await req("/inventory", {
              method: "POST",
              body: {
                data: { type: "inventory", attributes: { product_id: { $ne: null }, quantity: 1 } },
              },
            });
            assert.equal(
              (await errorOf(operatorId, 422)).source.pointer,
              "/data/attributes/product_id",
            );
          },
        );

        await t.step("GET include=product adds the product as a compound document", async () => {
          const id = newProduct();
          await create(id, 2);
          const doc = await jsonApiBody(await req(`/inventory/${id}?include=product`));
          assert.deepEqual(doc.included, [{
            type: "products",
            id,
            attributes: { name: `P ${id}` },
          }]);
          const error = await errorOf(await req(`/inventory/${id}?include=warehouse`), 400);
          assert.deepEqual(error.source, { parameter: "include" });
          const sparse = await jsonApiBody(
            await req(`/inventory/${id}?fields[inventory]=quantity`),
          );
          assert.deepEqual(sparse.data.attributes, { quantity: 2 });
          assert.equal(sparse.data.relationships, undefined);
        });

        await t.step("GET /inventory pages, sorts and filters low stock", async () => {
          const ids = [newProduct(), newProduct(), newProduct()];
          for (const [i, id] of ids.entries()) await create(id, 1000 + i);
          const doc = await jsonApiBody(await req("/inventory?sort=-quantity&page[size]=2"));
          assert.deepEqual(doc.data.map((r: { id: string }) => r.id), [ids[2], ids[1]]);
          assert.ok(doc.meta.total >= 3);
          assert.ok(doc.links.next);
          const low = await jsonApiBody(
            await req("/inventory?filter[max_quantity]=1001&sort=quantity&include=product"),
          );
          const lowIds = low.data.map((r: { id: string }) => r.id);
          assert.ok(lowIds.includes(ids[0]) && lowIds.includes(ids[1]) && !lowIds.includes(ids[2]));
          assert.equal(low.included.length, low.data.length);
          for (
            const [query, parameter] of [
              ["sort=name", "sort"],
              ["filter[max_quantity]=-1", "filter[max_quantity]"],
              ["page[size]=500", "page[size]"],
              ["x=1", "x"],
            ]
          ) {
            assert.deepEqual((await errorOf(await req(`/inventory?${query}`), 400)).source, {
              parameter,
            });
          }
        });

        await t.step("Idempotency-Key replays the first answer and applies once", async () => {
          const id = newProduct();
          await create(id, 10);
          const key = { "Idempotency-Key": `k-${id}` };
          const first = await patch(id, { quantity_delta: -1 }, key);
          const firstBody = await first.text();
          const second = await patch(id, { quantity_delta: -1 }, {
            ...key,
            "X-Request-ID": `retry-${id}`,
          });
          assert.equal(second.status, first.status);
          assert.equal(second.headers.get("Idempotent-Replayed"), "true");
          assert.equal(second.headers.get("X-Request-ID"), `retry-${id}`, "the retry's own id");
          assert.equal(second.headers.get("Content-Type"), first.headers.get("Content-Type"));
          assert.equal(await second.text(), firstBody);
          assert.equal(await quantity(id), 9);
          const other = await errorOf(await patch(id, { quantity_delta: -2 }, key), 422);
          assert.equal(other.code, "idempotency_key_reused");
          await errorOf(await patch(id, { quantity_delta: -1 }, { "Idempotency-Key": "" }), 400);
        });

        await t.step(
          "concurrent requests with one Idempotency-Key apply once, answering alike",
          async () => {
            const id = newProduct();
            await create(id, 100);
            const key = { "Idempotency-Key": `race-${id}` };
            const answers = await Promise.all(
              Array.from({ length: 20 }, () => patch(id, { quantity_delta: -1 }, key)),
            );
            const bodies = await Promise.all(answers.map((r) => r.text()));
            // Nobody waits for anybody: the store applies the key once and answers the others
            // from that change.
            assert.ok(answers.every((r) => r.status === 200));
            assert.equal(new Set(bodies).size, 1);
            assert.equal(answers.filter((r) => r.headers.get("Idempotent-Replayed")).length, 19);
            assert.equal(await quantity(id), 99);
          },
        );

        await t.step(
          "GET carries an ETag that every change moves on; If-None-Match is a 304",
          async () => {
            const id = newProduct();
            await create(id, 10);
            const first = await req(`/inventory/${id}`);
            const etag = first.headers.get("ETag")!;
            assert.equal(etag, '"s1"');
            const same = await req(`/inventory/${id}`, { headers: { "If-None-Match": etag } });
            assert.equal(same.status, 304);
            assert.equal(same.headers.get("ETag"), etag);
            assert.equal(await same.text(), "");
            const sparse = await req(`/inventory/${id}?fields[inventory]=quantity`);
            assert.notEqual(sparse.headers.get("ETag"), etag, "a partial representation's own tag");
            const bought = await patch(id, { quantity_delta: -1 });
            assert.equal(bought.headers.get("ETag"), '"s2"');
            const after = await req(`/inventory/${id}`, { headers: { "If-None-Match": etag } });
            assert.equal(after.status, 200, "a purchase changes the tag");
            assert.equal(after.headers.get("ETag"), '"s2"');
          },
        );

        await t.step(
          "If-Match: a stale tag is a 412 with the current ETag; 20 racing, one wins",
          async () => {
            const id = newProduct();
            await create(id, 100);
            const stale = await patch(id, { quantity_delta: -1 }, { "If-Match": '"s9"' });
            const error = await errorOf(stale, 412);
            assert.equal(error.code, "precondition_failed");
            assert.equal(stale.headers.get("ETag"), '"s1"');
            assert.equal(await quantity(id), 100, "nothing changed");
            const racing = await Promise.all(
              Array.from(
                { length: 20 },
                () => patch(id, { quantity_delta: -1 }, { "If-Match": '"s1"' }),
              ),
            );
            await Promise.all(racing.map((r) => r.body?.cancel()));
            assert.equal(racing.filter((r) => r.status === 200).length, 1);
            assert.equal(racing.filter((r) => r.status === 412).length, 19);
            assert.equal(await quantity(id), 99);
            assert.equal((await patch(id, { quantity: 5 }, { "If-Match": "*" })).status, 200);
            assert.equal((await patch(id, { quantity: 5 }, { "If-Match": 'W/"s3"' })).status, 412);
            const gone = await req(`/inventory/${id}`, {
              method: "DELETE",
              headers: { "If-Match": '"s2"' },
            });
            assert.equal((await errorOf(gone, 412)).code, "precondition_failed");
            const deleted = await req(`/inventory/${id}`, {
              method: "DELETE",
              headers: { "If-Match": '"s3"' },
            });
            assert.equal(deleted.status, 204);
            assert.equal(
              (await patch(newProduct(), { quantity: 1 }, { "If-Match": "*" })).status,
              404,
            );
          },
        );

        await t.step(
          "malformed If-Match and If-None-Match are 400s that change nothing",
          async () => {
            const id = newProduct();
            await create(id, 3);
            const bad = await patch(id, { quantity_delta: -1 }, { "If-Match": "s1" });
            assert.deepEqual((await errorOf(bad, 400)).source, { header: "If-Match" });
            const worse = await req(`/inventory/${id}`, { headers: { "If-None-Match": '"s1' } });
            assert.deepEqual((await errorOf(worse, 400)).source, { header: "If-None-Match" });
            assert.equal(await quantity(id), 3);
          },
        );

        await t.step(
          "the ledger records each change: reason, reference, request id and key",
          async () => {
            const id = newProduct();
            await create(id, 10);
            await patch(id, { quantity_delta: -2, reference: "order-1" }, {
              "X-Request-ID": "r-buy",
            });
            await patch(id, { quantity_delta: 1, reason: "return", reference: "rma-9" }, {
              "Idempotency-Key": `k-${id}`,
            });
            await patch(id, { quantity_delta: 1, reason: "return", reference: "rma-9" }, {
              "Idempotent-Key-Retry": "x",
              "Idempotency-Key": `k-${id}`,
            });
            await patch(id, { quantity: 4 });
            await patch(id, { quantity_delta: -99 });
            const doc = await jsonApiBody(await req(`/inventory/${id}/movements`));
            assert.deepEqual(
              doc.data.map((m: { attributes: Record<string, unknown> }) => {
                const a = m.attributes;
                return [a.sequence, a.delta, a.quantity, a.reason, a.reference, a.idempotency_key];
              }),
              [
                [1, 10, 10, "initial", null, null],
                [2, -2, 8, "purchase", "order-1", null],
                [3, 1, 9, "return", "rma-9", `k-${id}`],
                [4, -5, 4, "correction", null, null],
              ],
            );
            assert.equal(doc.data[1].attributes.request_id, "r-buy");
            assert.equal(doc.data[0].type, "movements");
            assert.equal(doc.links.next, null);
            const record = await jsonApiBody(await req(`/inventory/${id}`));
            assert.match(
              record.data.relationships.movements.links.related,
              new RegExp(`/inventory/${id}/movements$`),
            );
            assert.equal(record.data.attributes.reserved, 0);
          },
        );

        await t.step(
          "movements page by cursor; bad input is refused and changes nothing",
          async () => {
            const id = newProduct();
            await create(id, 1);
            for (let i = 0; i < 4; i++) await patch(id, { quantity_delta: 1 });
            const first = await jsonApiBody(await req(`/inventory/${id}/movements?page[size]=2`));
            assert.deepEqual(
              first.data.map((m: { attributes: { sequence: number } }) => m.attributes.sequence),
              [1, 2],
            );
            const next = await jsonApiBody(
              await req(new URL(first.links.next).pathname + new URL(first.links.next).search),
            );
            assert.deepEqual(
              next.data.map((m: { attributes: { sequence: number } }) => m.attributes.sequence),
              [3, 4],
            );
            for (
              const query of ["page[after]=-1", "page[after]=x", "page[size]=0", "page[number]=2"]
            ) {
              const res = await req(`/inventory/${id}/movements?${query}`);
              assert.equal(res.status, 400, query);
            }
            assert.equal((await req(`/inventory/${newProduct()}/movements`)).status, 404);
            assert.equal((await req(`/inventory/not-a-uuid/movements`)).status, 404);
            const badReason = await patch(id, { quantity_delta: 1, reason: "theft" });
            assert.equal((await errorOf(badReason, 422)).source.pointer, "/data/attributes/reason");
            const long = await patch(id, { quantity_delta: 1, reference: "x".repeat(256) });
            assert.equal((await errorOf(long, 422)).source.pointer, "/data/attributes/reference");
            assert.equal(await quantity(id), 5);
          },
        );

        await t.step("200 concurrent purchases of 50 units: exactly 50 succeed", async () => {
          const id = newProduct();
          await create(id, 50);
          const answers = await Promise.all(
            Array.from({ length: 200 }, () => patch(id, { quantity_delta: -1 })),
          );
          await Promise.all(answers.map((r) => r.body?.cancel()));
          assert.equal(answers.filter((r) => r.status === 200).length, 50);
          assert.equal(answers.filter((r) => r.status === 409).length, 150);
          assert.equal(await quantity(id), 0);
        });

        await t.step("/metrics counts adjustments and refused purchases", async () => {
          const text = await (await req("/metrics")).text();
          assert.match(text, /inventory_adjustments_total\{kind="delta"[^}]*\} [1-9]/);
          assert.match(text, /inventory_adjustments_total\{kind="set"[^}]*\} [1-9]/);
          assert.match(text, /inventory_insufficient_stock_total\{[^}]*\} [1-9]/);
        });

        await t.step("DELETE answers 204, then 404", async () => {
          const id = newProduct();
          await create(id, 1);
          const res = await req(`/inventory/${id}`, { method: "DELETE" });
          assert.equal(res.status, 204);
          await errorOf(await req(`/inventory/${id}`, { method: "DELETE" }), 404);
          await errorOf(await req(`/inventory/${id}`), 404);
          const put = await req(`/inventory/${id}`, { method: "PUT" });
          assert.equal(put.headers.get("Allow"), "GET, PATCH, DELETE");
          await errorOf(put, 405);
        });
      } finally {
        await products.server.shutdown();
        await stores.close();
      }
    },
  });
}
