import assert from "node:assert/strict";
import { FakeClock } from "../../tests/support/fake_clock.ts";
import { appRequester, jsonApiBody } from "../../tests/support/jsonapi.ts";
import { memoryLogger } from "../../tests/support/memory_logger.ts";
import { createInventoryApp } from "../app.ts";
import { inventoryBackends } from "../../tests/support/inventory_stores.ts";
import type { ProductCatalog } from "../domain/ports.ts";

const KEY = "inventory-test-key-001";

/** Every product exists: these cases are about carts, not the catalog. */
const catalog: ProductCatalog = {
  find: (id) => Promise.resolve({ id, resource: { type: "products", id } }),
  ping: () => Promise.resolve(),
};

for (const backend of inventoryBackends) {
  Deno.test({
    name: `reservations API (${backend.name})`,
    ignore: backend.ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const stores = await backend.open();
      const clock = new FakeClock(new Date());
      const { logger } = memoryLogger("inventory");
      const { app, carts } = createInventoryApp({
        ...stores,
        catalog,
        productsServiceUrl: "http://127.0.0.1:1",
        apiKey: KEY,
        logger,
        clock,
      });
      const req = appRequester(app, KEY);
      const stock = async (quantity: number) => {
        const id = crypto.randomUUID();
        const res = await req("/inventory", {
          method: "POST",
          body: { data: { type: "inventory", attributes: { product_id: id, quantity } } },
        });
        assert.equal(res.status, 201);
        await res.body?.cancel();
        return id;
      };
      const levels = async (id: string) => {
        const { attributes } = (await jsonApiBody(await req(`/inventory/${id}`))).data;
        return [attributes.quantity, attributes.reserved];
      };
      const hold = (attributes: unknown, headers: Record<string, string> = {}) =>
        req("/reservations", {
          method: "POST",
          body: { data: { type: "reservations", attributes } },
          headers,
        });
      const patch = (id: string, attributes: unknown, headers: Record<string, string> = {}) =>
        req(`/reservations/${id}`, {
          method: "PATCH",
          body: { data: { type: "reservations", id, attributes } },
          headers,
        });

      try {
        const a = await stock(10);
        const b = await stock(3);

        await t.step("POST holds the merged lines: 201, Location, ETag", async () => {
          const res = await hold({
            lines: [{ product_id: a, quantity: 2 }, { product_id: b, quantity: 1 }, {
              product_id: a.toUpperCase(),
              quantity: 1,
            }],
            ttl_seconds: 60,
            reference: "cart-8812",
          });
          assert.equal(res.status, 201);
          const doc = await jsonApiBody(res);
          const { id, attributes } = doc.data;
          assert.equal(res.headers.get("location"), `http://localhost/reservations/${id}`);
          assert.match(res.headers.get("etag") ?? "", /^"r\d+"$/);
          assert.equal(attributes.status, "held");
          const sorted = [a, b].sort();
          const lines = attributes.lines.map((l: { product_id: string }) => l.product_id);
          assert.deepEqual(lines, sorted);
          assert.equal(attributes.reference, "cart-8812");
          assert.equal(
            new Date(attributes.expires_at).getTime() - new Date(attributes.created_at).getTime(),
            60_000,
          );
          assert.deepEqual(await levels(a), [7, 3]);
          assert.deepEqual(await levels(b), [2, 1]);

          const got = await req(`/reservations/${id}`);
          assert.equal(got.status, 200);
          assert.deepEqual((await jsonApiBody(got)).data, doc.data);
          const etag = got.headers.get("etag")!;
          const again = await req(`/reservations/${id}`, { headers: { "If-None-Match": etag } });
          assert.equal(again.status, 304);
          assert.equal(again.headers.get("etag"), etag);

          // A purchase cannot take held units.
          const buy = await req(`/inventory/${b}`, {
            method: "PATCH",
            body: { data: { type: "inventory", id: b, attributes: { quantity_delta: -3 } } },
          });
          assert.equal(buy.status, 409);
          await buy.body?.cancel();

          const stale = await patch(id, { status: "committed" }, { "If-Match": '"r1"' });
          assert.equal(stale.status, 412);
          assert.equal(stale.headers.get("etag"), etag);
          await stale.body?.cancel();
          const stillHeld = await patch(id, { status: "held" }, { "If-Match": etag });
          assert.equal(stillHeld.status, 200);
          assert.equal(stillHeld.headers.get("etag"), etag, "held → held changes nothing");
          await stillHeld.body?.cancel();
          const committed = await patch(id, { status: "committed" }, { "If-Match": etag });
          assert.equal(committed.status, 200);
          assert.equal((await jsonApiBody(committed)).data.attributes.status, "committed");
          assert.deepEqual(await levels(a), [7, 0]);
          assert.deepEqual(await levels(b), [2, 0]);
          const noop = await patch(id, { status: "committed" });
          assert.equal(noop.status, 200);
          await noop.body?.cancel();
          const closed = await patch(id, { status: "released" });
          assert.equal(closed.status, 409);
          assert.equal((await jsonApiBody(closed)).errors[0].code, "reservation_closed");
          const notHeld = await patch(id, { status: "held" });
          assert.equal(notHeld.status, 409);
          assert.equal((await jsonApiBody(notHeld)).errors[0].code, "reservation_closed");

          const movements = (await jsonApiBody(await req(`/inventory/${a}/movements`))).data;
          assert.deepEqual(
            movements.map((m: { attributes: Record<string, unknown> }) => [
              m.attributes.reason,
              m.attributes.delta,
              m.attributes.reserved_delta,
              m.attributes.reservation_id,
            ]),
            [["initial", 10, 0, null], ["reservation_hold", -3, 3, id], [
              "reservation_commit",
              0,
              -3,
              id,
            ]],
          );
        });

        await t.step(
          "a short cart is 409, one error per short line, and holds nothing",
          async () => {
            const c = await stock(0);
            const res = await hold({
              lines: [
                { product_id: a, quantity: 1 },
                { product_id: b, quantity: 5 },
                { product_id: c, quantity: 1 },
              ],
            });
            assert.equal(res.status, 409);
            const errors = (await jsonApiBody(res)).errors;
            const byPointer = Object.fromEntries(
              errors.map((e: { source: { pointer: string }; meta: { available: number } }) => [
                e.source.pointer,
                e.meta.available,
              ]),
            );
            assert.deepEqual(byPointer, {
              "/data/attributes/lines/1/quantity": 2,
              "/data/attributes/lines/2/quantity": 0,
            });
            assert.ok(errors.every((e: { code: string }) => e.code === "insufficient_stock"));
            assert.deepEqual(await levels(a), [7, 0]);
            assert.deepEqual(await levels(b), [2, 0]);
          },
        );

        await t.step("a line without a stock record is 422 at its product_id", async () => {
          const res = await hold({
            lines: [{ product_id: a, quantity: 1 }, {
              product_id: crypto.randomUUID(),
              quantity: 1,
            }],
          });
          assert.equal(res.status, 422);
          const [error] = (await jsonApiBody(res)).errors;
          assert.equal(error.source.pointer, "/data/attributes/lines/1/product_id");
          assert.deepEqual(await levels(a), [7, 0]);
        });

        await t.step("malformed carts are 422 with pointers and change nothing", async () => {
          const cases: [unknown, string][] = [
            [{ lines: [] }, "/data/attributes/lines"],
            [{ lines: [{ product_id: a, quantity: 0 }] }, "/data/attributes/lines/0/quantity"],
            [{ lines: [{ product_id: "x", quantity: 1 }] }, "/data/attributes/lines/0/product_id"],
            [
              { lines: [{ product_id: a, quantity: 1, extra: 1 }] },
              "/data/attributes/lines/0/extra",
            ],
            [
              { lines: [{ product_id: a, quantity: 1 }], ttl_seconds: 86_401 },
              "/data/attributes/ttl_seconds",
            ],
            [
              { lines: Array.from({ length: 101 }, () => ({ product_id: a, quantity: 1 })) },
              "/data/attributes/lines",
            ],
          ];
          for (const [attributes, pointer] of cases) {
            const res = await hold(attributes);
            assert.equal(res.status, 422, JSON.stringify(attributes).slice(0, 80));
            const errors = (await jsonApiBody(res)).errors;
            assert.ok(
              errors.some((e: { source: { pointer: string } }) => e.source.pointer === pointer),
              JSON.stringify(errors),
            );
          }
          const withId = await req("/reservations", {
            method: "POST",
            body: {
              data: {
                type: "reservations",
                id: crypto.randomUUID(),
                attributes: { lines: [{ product_id: a, quantity: 1 }] },
              },
            },
          });
          assert.equal(withId.status, 403);
          await withId.body?.cancel();
          assert.deepEqual(await levels(a), [7, 0]);
          const unknown = await req(`/reservations/${crypto.randomUUID()}`);
          assert.equal(unknown.status, 404);
          await unknown.body?.cancel();
          const badId = await req("/reservations/nope");
          assert.equal(badId.status, 404);
          await badId.body?.cancel();
        });

        await t.step("an Idempotency-Key holds a cart once and replays it", async () => {
          const body = { lines: [{ product_id: a, quantity: 1 }] };
          const first = await hold(body, { "Idempotency-Key": "cart-key-1" });
          assert.equal(first.status, 201);
          const id = (await jsonApiBody(first)).data.id;
          const again = await hold(body, { "Idempotency-Key": "cart-key-1" });
          assert.equal(again.status, 201);
          assert.equal(again.headers.get("idempotent-replayed"), "true");
          assert.equal((await jsonApiBody(again)).data.id, id);
          assert.deepEqual(await levels(a), [6, 1]);
          await patch(id, { status: "released" }).then((r) => r.body?.cancel());
          assert.deepEqual(await levels(a), [7, 0]);
        });

        await t.step(
          "extend, then expiry: reads expired at once, the sweep returns the units",
          async () => {
            const res = await hold({ lines: [{ product_id: b, quantity: 2 }], ttl_seconds: 30 });
            const id = (await jsonApiBody(res)).data.id;
            clock.advance(20_000);
            const extended = await patch(id, { ttl_seconds: 30 });
            assert.equal(extended.status, 200);
            const expiresAt = (await jsonApiBody(extended)).data.attributes.expires_at;
            assert.equal(new Date(expiresAt).getTime(), clock.now().getTime() + 30_000);
            clock.advance(30_000);
            const read = await jsonApiBody(await req(`/reservations/${id}`));
            assert.equal(read.data.attributes.status, "expired");
            const late = await patch(id, { status: "committed" });
            assert.equal(late.status, 409);
            assert.equal((await jsonApiBody(late)).errors[0].code, "reservation_expired");
            assert.deepEqual(await levels(b), [0, 2]);
            await carts.sweep(logger);
            assert.deepEqual(await levels(b), [2, 0]);
            const list = await jsonApiBody(
              await req(`/reservations?filter[status]=expired&filter[product_id]=${b}`),
            );
            assert.deepEqual(list.data.map((r: { id: string }) => r.id), [id]);
            assert.equal(list.meta.total, 1);
          },
        );

        await t.step("lists page and filter; bad filters are 400", async () => {
          const all = await jsonApiBody(await req("/reservations?page[size]=2"));
          assert.equal(all.data.length, 2);
          assert.ok(all.meta.total >= 3);
          assert.ok(all.links.next);
          const bad = await req("/reservations?filter[status]=lost");
          assert.equal(bad.status, 400);
          await bad.body?.cancel();
          const put = await req("/reservations", { method: "PUT" });
          assert.equal(put.status, 405);
          await put.body?.cancel();
        });
      } finally {
        await stores.close();
      }
    },
  });
}
