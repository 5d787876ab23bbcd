import assert from "node:assert/strict";
import { JSONAPI_MEDIA_TYPE } from "@stockroom/http";
import { memoryLogger } from "../../tests/support/memory_logger.ts";
import { jsonApiBody } from "../../tests/support/jsonapi.ts";
import { createProductsApp } from "../app.ts";
import type { ProductCache } from "../domain/ports.ts";
import { LruProductCache } from "../infrastructure/lru_product_cache.ts";
import { SqlProductRepository } from "../infrastructure/sql_product_repository.ts";
import {
  DATABASE_URL,
  openPglite,
  openPostgres,
  type TestDatabase,
} from "../../tests/support/test_databases.ts";
import { UpstashProductCache } from "../infrastructure/upstash_product_cache.ts";

const KEY = "products-test-key-0001";
const UPSTASH_URL = Deno.env.get("UPSTASH_REDIS_REST_URL");
const UPSTASH_TOKEN = Deno.env.get("UPSTASH_REDIS_REST_TOKEN");

interface Backend {
  name: string;
  ignore: boolean;
  open: () => Promise<TestDatabase>;
  cache: () => ProductCache;
}

const backends: Backend[] = [
  { name: "PGlite + LRU", ignore: false, open: openPglite, cache: () => new LruProductCache() },
  {
    name: "PostgreSQL + Upstash",
    ignore: !DATABASE_URL || !UPSTASH_URL || !UPSTASH_TOKEN,
    open: openPostgres,
    cache: () => new UpstashProductCache({ url: UPSTASH_URL!, token: UPSTASH_TOKEN! }),
  },
];

type Request = (
  path: string,
  init?: { method?: string; body?: unknown; headers?: Record<string, string> },
) => Promise<Response>;

function client(app: { request: (p: string, i: RequestInit) => Response | Promise<Response> }) {
  const request: Request = (path, init = {}) => {
    const headers: Record<string, string> = { "X-API-Key": KEY, ...init.headers };
    if (init.body !== undefined) headers["Content-Type"] ??= JSONAPI_MEDIA_TYPE;
    return Promise.resolve(app.request(path, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined
        ? undefined
        : typeof init.body === "string"
        ? init.body
        : JSON.stringify(init.body),
    }));
  };
  return request;
}

function productDoc(attributes: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { data: { type: "products", attributes, ...extra } };
}

async function expectError(res: Response, status: number, where?: Record<string, string>) {
  assert.equal(res.status, status);
  const doc = await jsonApiBody(res);
  assert.ok(doc.errors.length >= 1);
  for (const error of doc.errors) assert.equal(error.status, String(status));
  if (where) assert.deepEqual(doc.errors[0].source, where);
  return doc;
}

for (const backend of backends) {
  Deno.test({
    name: `products API (${backend.name})`,
    ignore: backend.ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const db = await backend.open();
      const { logger, lines } = memoryLogger("products");
      const app = createProductsApp({
        store: new SqlProductRepository(db.sql),
        cache: backend.cache(),
        cacheTtlSeconds: 60,
        apiKey: KEY,
        logger,
      });
      const req = client(app);
      const create = async (attributes: Record<string, unknown>) => {
        const res = await req("/products", { method: "POST", body: productDoc(attributes) });
        assert.equal(res.status, 201);
        return (await jsonApiBody(res)).data;
      };
      try {
        await t.step("POST creates with a server id, Location and the stored values", async () => {
          const res = await req("/products", {
            method: "POST",
            body: productDoc({ name: "Mug", description: "Blue", price: 12.5 }),
          });
          assert.equal(res.status, 201);
          const doc = await jsonApiBody(res);
          assert.match(doc.data.id, /^[0-9a-f-]{36}$/);
          assert.equal(res.headers.get("Location"), `http://localhost/products/${doc.data.id}`);
          assert.deepEqual(
            { ...doc.data.attributes, created_at: 0, updated_at: 0 },
            { name: "Mug", description: "Blue", price: 12.5, created_at: 0, updated_at: 0 },
          );
          assert.match(doc.data.attributes.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
          assert.ok(
            lines().some((l) => l.message === "product.created" && l.product_id === doc.data.id),
          );
        });

        await t.step("POST accepts a client UUID once, then 409", async () => {
          const id = crypto.randomUUID();
          const body = productDoc({ name: "A", description: "", price: 0 }, { id });
          const first = await req("/products", { method: "POST", body });
          assert.equal(first.status, 201);
          assert.equal((await jsonApiBody(first)).data.id, id);
          const again = await req("/products", { method: "POST", body });
          assert.equal((await expectError(again, 409)).errors[0].code, "product_exists");
          const bad = await req("/products", {
            method: "POST",
            body: productDoc({ name: "A", description: "", price: 0 }, { id: "x1" }),
          });
          await expectError(bad, 422, { pointer: "/data/id" });
        });

        await t.step(
          "POST rejects invalid attributes with 422, one error each, writing nothing",
          async () => {
            const before = (await jsonApiBody(await req("/products"))).meta.total;
            const cases: [Record<string, unknown>, string[]][] = [
              [{ description: "", price: 1 }, ["/data/attributes/name"]],
              [{ name: "", description: "", price: 1 }, ["/data/attributes/name"]],
              [{ name: "x".repeat(256), description: "", price: 1 }, ["/data/attributes/name"]],
              [{ name: "a\u0000b", description: "", price: 1 }, ["/data/attributes/name"]],
              [{ name: "n", description: "x".repeat(10_001), price: 1 }, [
                "/data/attributes/description",
              ]],
              [{ name: "n", description: "", price: -0.01 }, ["/data/attributes/price"]],
              [{ name: "n", description: "", price: 1.001 }, ["/data/attributes/price"]],
              [{ name: "n", description: "", price: 100_000_000 }, ["/data/attributes/price"]],
              [{ name: "n", description: "", price: "1.00" }, ["/data/attributes/price"]],
              [{ name: { $ne: null }, description: "", price: 1 }, ["/data/attributes/name"]],
              [{ name: 1, description: [], price: null, colour: "red" }, [
                "/data/attributes/name",
                "/data/attributes/description",
                "/data/attributes/price",
                "/data/attributes/colour",
              ]],
            ];
            for (const [attributes, pointers] of cases) {
              const res = await req("/products", { method: "POST", body: productDoc(attributes) });
              const doc = await expectError(res, 422);
              assert.deepEqual(
                doc.errors.map((e: { source: { pointer: string } }) => e.source.pointer),
                pointers,
                JSON.stringify(attributes),
              );
            }
            assert.equal((await jsonApiBody(await req("/products"))).meta.total, before);
          },
        );

        await t.step(
          "POST answers 400 for a malformed document and 409 for another type",
          async () => {
            await expectError(await req("/products", { method: "POST", body: "{" }), 400);
            await expectError(await req("/products", { method: "POST", body: { data: [] } }), 400, {
              pointer: "/data",
            });
            await expectError(
              await req("/products", {
                method: "POST",
                body: { data: { type: "inventory", attributes: {} } },
              }),
              409,
              { pointer: "/data/type" },
            );
          },
        );

        await t.step("GET by id: MISS then HIT, 404 for unknown and malformed ids", async () => {
          const product = await create({ name: "Cached", description: "", price: 1.1 });
          const miss = await req(`/products/${product.id}`);
          assert.equal(miss.headers.get("X-Cache"), "MISS");
          assert.deepEqual((await jsonApiBody(miss)).data, product);
          const hit = await req(`/products/${product.id}`);
          assert.equal(hit.headers.get("X-Cache"), "HIT");
          assert.deepEqual((await jsonApiBody(hit)).data, product);
          await expectError(await req(`/products/${crypto.randomUUID()}`), 404);
          for (const bad of ["not-a-uuid", "1%20OR%201=1", "%27%3B--", "x".repeat(300)]) {
            await expectError(await req(`/products/${bad}`), 404);
          }
          const sparse = await jsonApiBody(
            await req(`/products/${product.id}?fields[products]=price`),
          );
          assert.deepEqual(sparse.data.attributes, { price: 1.1 });
        });

        await t.step(
          "PATCH changes given attributes, invalidates the cache, 409/404/422 otherwise",
          async () => {
            const product = await create({ name: "Old", description: "d", price: 5 });
            await (await req(`/products/${product.id}`)).body?.cancel();
            const patch = (body: unknown, id = product.id) =>
              req(`/products/${id}`, { method: "PATCH", body });
            const res = await patch({
              data: { type: "products", id: product.id, attributes: { price: 6.25 } },
            });
            assert.equal(res.status, 200);
            const updated = (await jsonApiBody(res)).data;
            assert.deepEqual([updated.attributes.name, updated.attributes.price], ["Old", 6.25]);
            assert.ok(updated.attributes.updated_at >= product.attributes.updated_at);
            const fresh = await req(`/products/${product.id}`);
            assert.equal(fresh.headers.get("X-Cache"), "MISS", "PATCH invalidated the entry");
            assert.equal((await jsonApiBody(fresh)).data.attributes.price, 6.25);
            await expectError(
              await patch({ data: { type: "products", id: crypto.randomUUID(), attributes: {} } }),
              409,
              { pointer: "/data/id" },
            );
            await expectError(
              await patch({ data: { type: "things", id: product.id, attributes: {} } }),
              409,
              { pointer: "/data/type" },
            );
            await expectError(await patch({ data: { type: "products", attributes: {} } }), 400, {
              pointer: "/data/id",
            });
            await expectError(
              await patch({
                data: { type: "products", id: product.id, attributes: { price: -1 } },
              }),
              422,
              { pointer: "/data/attributes/price" },
            );
            const missing = crypto.randomUUID();
            await expectError(
              await patch(
                { data: { type: "products", id: missing, attributes: { name: "x" } } },
                missing,
              ),
              404,
            );
            const unchanged = await patch({ data: { type: "products", id: product.id } });
            assert.equal(unchanged.status, 200);
            assert.equal((await jsonApiBody(unchanged)).data.attributes.price, 6.25);
          },
        );

        await t.step("DELETE answers 204 once, then 404, and the cache forgets", async () => {
          const product = await create({ name: "Gone", description: "", price: 1 });
          await (await req(`/products/${product.id}`)).body?.cancel();
          const res = await req(`/products/${product.id}`, {
            method: "DELETE",
            headers: { "Content-Type": "text/plain" },
          });
          assert.equal(res.status, 204);
          assert.equal(await res.text(), "");
          await expectError(await req(`/products/${product.id}`), 404);
          await expectError(await req(`/products/${product.id}`, { method: "DELETE" }), 404);
        });

        await t.step(
          "GET by id carries a strong ETag: MISS and HIT alike, new on change",
          async () => {
            const product = await create({ name: "Tagged", description: "", price: 1 });
            const miss = await req(`/products/${product.id}`);
            assert.deepEqual([miss.headers.get("X-Cache"), miss.headers.get("ETag")], [
              "MISS",
              '"v1"',
            ]);
            await miss.body?.cancel();
            const hit = await req(`/products/${product.id}`);
            assert.deepEqual([hit.headers.get("X-Cache"), hit.headers.get("ETag")], [
              "HIT",
              '"v1"',
            ]);
            await hit.body?.cancel();
            const patched = await req(`/products/${product.id}`, {
              method: "PATCH",
              body: { data: { type: "products", id: product.id, attributes: { price: 2 } } },
            });
            assert.equal(patched.headers.get("ETag"), '"v2"', "PATCH answers with the new tag");
            await patched.body?.cancel();
            // The invalidation's tombstone keeps the cache from refilling for a while: MISS.
            const after = await req(`/products/${product.id}`);
            assert.deepEqual([after.headers.get("X-Cache"), after.headers.get("ETag")], [
              "MISS",
              '"v2"',
            ]);
            await after.body?.cancel();
          },
        );

        await t.step(
          "a sparse fieldset has its own tag, whatever the order of its fields",
          async () => {
            const product = await create({ name: "Sparse", description: "", price: 1 });
            const get = (query: string) => req(`/products/${product.id}?${query}`);
            const a = await get("fields[products]=price,name");
            const b = await get("fields[products]=name,price,name");
            assert.equal(a.headers.get("ETag"), '"v1-name.price"');
            assert.equal(b.headers.get("ETag"), '"v1-name.price"');
            assert.equal(await a.text(), await b.text(), "one tag, one exact representation");
            const none = await get("fields[products]=");
            assert.equal(none.headers.get("ETag"), '"v1-none"');
            assert.deepEqual((await jsonApiBody(none)).data.attributes, {});
            const full = await get("");
            assert.equal(full.headers.get("ETag"), '"v1"');
            await full.body?.cancel();
            const other = await req(`/products/${product.id}?fields[products]=name,price`, {
              headers: { "If-None-Match": '"v1"' },
            });
            assert.equal(
              other.status,
              200,
              "the full representation's tag is not the sparse one's",
            );
            await other.body?.cancel();
            const same = await req(`/products/${product.id}?fields[products]=price,name`, {
              headers: { "If-None-Match": '"v1-name.price"' },
            });
            assert.equal(same.status, 304);
          },
        );

        await t.step(
          "If-None-Match with the current tag is a 304, from the database or the cache",
          async () => {
            const product = await create({ name: "Fresh", description: "", price: 1 });
            const get = (value: string) =>
              req(`/products/${product.id}`, { headers: { "If-None-Match": value } });
            for (
              const [value, cache] of [['"v1"', "MISS"], ['"v1"', "HIT"], ['W/"v1"', "HIT"], [
                '"v0", "v1"',
                "HIT",
              ], ["*", "HIT"]]
            ) {
              const res = await get(value!);
              assert.equal(res.status, 304, value);
              assert.equal(res.headers.get("ETag"), '"v1"');
              assert.equal(res.headers.get("X-Cache"), cache, value);
              assert.ok(res.headers.get("X-Request-ID"));
              assert.equal(res.headers.get("Content-Type"), null);
              assert.equal(await res.text(), "");
            }
            const stale = await get('"v0"');
            assert.equal(stale.status, 200);
            assert.equal(stale.headers.get("ETag"), '"v1"');
            assert.equal((await jsonApiBody(stale)).data.id, product.id);
            await expectError(
              await req(`/products/${crypto.randomUUID()}`, { headers: { "If-None-Match": "*" } }),
              404,
            );
          },
        );

        await t.step(
          "a stale If-Match is a 412 with the current tag, and changes nothing",
          async () => {
            const product = await create({ name: "Guarded", description: "", price: 1 });
            const path = `/products/${product.id}`;
            const patch = (attributes: Record<string, unknown>, ifMatch: string) =>
              req(path, {
                method: "PATCH",
                body: { data: { type: "products", id: product.id, attributes } },
                headers: { "If-Match": ifMatch },
              });
            const first = await patch({ price: 2 }, '"v1"');
            assert.deepEqual([first.status, first.headers.get("ETag")], [200, '"v2"']);
            await first.body?.cancel();
            await (await req(path)).body?.cancel(); // cached at v2
            for (const stale of ['"v1"', 'W/"v2"', '"v2-name.price"', '"v1", "v3"', '"2"']) {
              const res = await patch({ price: 3 }, stale);
              const doc = await expectError(res, 412, { header: "If-Match" });
              assert.equal(doc.errors[0].code, "precondition_failed", stale);
              assert.equal(res.headers.get("ETag"), '"v2"', stale);
            }
            const emptyStale = await patch({}, '"v1"');
            assert.equal(emptyStale.headers.get("ETag"), '"v2"');
            await expectError(emptyStale, 412, { header: "If-Match" });
            const emptyFresh = await patch({}, '"v1", "v2"');
            assert.deepEqual([emptyFresh.status, emptyFresh.headers.get("ETag")], [200, '"v2"']);
            await emptyFresh.body?.cancel();
            const deleteStale = await req(path, {
              method: "DELETE",
              headers: { "If-Match": '"v1"' },
            });
            assert.equal(deleteStale.headers.get("ETag"), '"v2"');
            await expectError(deleteStale, 412, { header: "If-Match" });
            const after = await req(path);
            assert.equal(after.headers.get("ETag"), '"v2"', "no change, the empty PATCH included");
            assert.equal((await jsonApiBody(after)).data.attributes.price, 2);
            const deleted = await req(path, { method: "DELETE", headers: { "If-Match": '"v2"' } });
            assert.equal(deleted.status, 204);
            const missing = await patch({ price: 1 }, '"v2"');
            await expectError(missing, 404);
            await expectError(
              await req(path, { method: "DELETE", headers: { "If-Match": '"v2"' } }),
              404,
            );
          },
        );

        await t.step(
          "If-Match: * applies to any existing product; 404 when there is none",
          async () => {
            const product = await create({ name: "Any", description: "", price: 1 });
            const path = `/products/${product.id}`;
            const body = { data: { type: "products", id: product.id, attributes: { price: 2 } } };
            const any = { "If-Match": "*" };
            const res = await req(path, { method: "PATCH", body, headers: any });
            assert.deepEqual([res.status, res.headers.get("ETag")], [200, '"v2"']);
            await res.body?.cancel();
            assert.equal((await req(path, { method: "DELETE", headers: any })).status, 204);
            await expectError(await req(path, { method: "PATCH", body, headers: any }), 404);
            await expectError(await req(path, { method: "DELETE", headers: any }), 404);
          },
        );

        await t.step(
          "a malformed If-Match or If-None-Match is a 400 that touches nothing",
          async () => {
            const product = await create({ name: "Intact", description: "", price: 1 });
            const path = `/products/${product.id}`;
            // Reads by id, as the metrics count them: a malformed header is refused before one.
            const reads = async () =>
              [...(await (await req("/metrics")).text()).matchAll(
                /^product_cache_lookups_total\{[^}]*\} (\d+)$/gm,
              )].reduce((sum, m) => sum + Number(m[1]), 0);
            const before = await reads();
            assert.ok(before > 0, "earlier steps read by id");
            for (const bad of ["v1", '"v1', '"v1",', 'W/ "v1"']) {
              await expectError(await req(path, { headers: { "If-None-Match": bad } }), 400, {
                header: "If-None-Match",
              });
              await expectError(
                await req(path, {
                  method: "PATCH",
                  body: { data: { type: "products", id: product.id, attributes: { price: 9 } } },
                  headers: { "If-Match": bad },
                }),
                400,
                { header: "If-Match" },
              );
              await expectError(
                await req(path, { method: "DELETE", headers: { "If-Match": bad } }),
                400,
                { header: "If-Match" },
              );
            }
            assert.equal(await reads(), before, "no read asked the repository");
            const after = await req(path);
            assert.equal(after.headers.get("ETag"), '"v1"');
            assert.equal((await jsonApiBody(after)).data.attributes.price, 1);
          },
        );

        await t.step("of 20 racing PATCHes with one If-Match, exactly one is applied", async () => {
          const product = await create({ name: "Raced", description: "", price: 1 });
          const path = `/products/${product.id}`;
          await (await req(path)).body?.cancel(); // cached at v1
          const responses = await Promise.all(Array.from({ length: 20 }, (_, i) =>
            req(path, {
              method: "PATCH",
              body: { data: { type: "products", id: product.id, attributes: { price: 10 + i } } },
              headers: { "If-Match": '"v1"' },
            })));
          const won = responses.filter((r) => r.status === 200);
          const lost = responses.filter((r) => r.status === 412);
          assert.deepEqual([won.length, lost.length], [1, 19]);
          assert.ok(lost.every((r) => r.headers.get("ETag") === '"v2"'));
          const winner = (await jsonApiBody(won[0]!)).data.attributes.price;
          await Promise.all(lost.map((r) => r.body?.cancel()));
          const after = await req(path);
          assert.equal(after.headers.get("ETag"), '"v2"');
          assert.equal((await jsonApiBody(after)).data.attributes.price, winner);
        });

        await t.step("GET /products pages with links and meta.total", async () => {
          await db.reset();
          for (let i = 1; i <= 5; i++) {
            await create({ name: `Item ${i}`, description: "", price: i });
          }
          const page = await jsonApiBody(
            await req("/products?page[number]=2&page[size]=2&sort=price"),
          );
          assert.deepEqual(
            page.data.map((p: { attributes: { name: string } }) => p.attributes.name),
            ["Item 3", "Item 4"],
          );
          assert.equal(page.meta.total, 5);
          const link = (n: number) =>
            `http://localhost/products?page%5Bnumber%5D=${n}&page%5Bsize%5D=2&sort=price`;
          assert.deepEqual(page.links, {
            self: link(2),
            first: link(1),
            prev: link(1),
            next: link(3),
            last: link(3),
          });
          const past = await jsonApiBody(await req("/products?page[number]=9&page[size]=2"));
          assert.deepEqual([past.data.length, past.meta.total], [0, 5]);
          const first = await jsonApiBody(await req("/products"));
          assert.equal(first.links.prev, null);
          assert.equal(first.links.next, null);
          assert.equal(first.data.length, 5);
        });

        await t.step("GET /products sorts, filters and trims fields", async () => {
          const names = async (query: string) =>
            (await jsonApiBody(await req(`/products?${query}`))).data.map((
              p: { attributes: { name: string } },
            ) => p.attributes.name);
          assert.deepEqual(await names("sort=-price&page[size]=2"), ["Item 5", "Item 4"]);
          assert.deepEqual(await names("sort=-name"), [
            "Item 5",
            "Item 4",
            "Item 3",
            "Item 2",
            "Item 1",
          ]);
          assert.deepEqual(await names("filter[name]=item%203"), ["Item 3"]);
          assert.deepEqual(await names("filter[min_price]=2&filter[max_price]=3.5&sort=price"), [
            "Item 2",
            "Item 3",
          ]);
          const sparse = await jsonApiBody(
            await req("/products?fields[products]=name&page[size]=1&sort=price"),
          );
          assert.deepEqual(sparse.data[0].attributes, { name: "Item 1" });
        });

        await t.step(
          "GET /products answers 400 with source.parameter for bad query parameters",
          async () => {
            const cases: [string, string][] = [
              ["page[number]=0", "page[number]"],
              ["page[size]=101", "page[size]"],
              ["page[size]=0", "page[size]"],
              ["page[size]=1.5", "page[size]"],
              ["page[number]=abc", "page[number]"],
              ["page[offset]=1", "page[offset]"],
              ["sort=colour", "sort"],
              ["filter[colour]=red", "filter[colour]"],
              ["filter[min_price]=cheap", "filter[min_price]"],
              ["fields[products]=secret", "fields[products]"],
              ["include=stock", "include"],
              ["foo=bar", "foo"],
              ["sort=name&sort=price", "sort"],
            ];
            for (const [query, parameter] of cases) {
              await expectError(await req(`/products?${query}`), 400, { parameter });
            }
            await expectError(await req(`/products/${crypto.randomUUID()}?page[size]=1`), 400, {
              parameter: "page[size]",
            });
          },
        );

        await t.step("unsupported methods get 405 with Allow; no key gets 401", async () => {
          const put = await req("/products", { method: "PUT" });
          await expectError(put, 405);
          assert.equal(put.headers.get("Allow"), "GET, POST");
          const post = await req(`/products/${crypto.randomUUID()}`, {
            method: "POST",
            body: productDoc({}),
          });
          await expectError(post, 405);
          await expectError(await req("/products", { headers: { "X-API-Key": "wrong" } }), 401);
        });

        await t.step("415, 406 and 413 come before any write", async () => {
          const body = productDoc({ name: "x", description: "", price: 1 });
          await expectError(
            await req("/products", {
              method: "POST",
              body,
              headers: { "Content-Type": "application/json" },
            }),
            415,
          );
          await expectError(
            await req("/products", { headers: { Accept: `${JSONAPI_MEDIA_TYPE}; charset=utf-8` } }),
            406,
          );
          const huge = productDoc({ name: "x", description: "y".repeat(1024 * 1024), price: 1 });
          await expectError(await req("/products", { method: "POST", body: huge }), 413);
        });

        await t.step("/metrics counts requests by route and cache hits and misses", async () => {
          const text = await (await req("/metrics")).text();
          assert.match(text, /http_requests_total\{[^}]*route="\/products\/:id"[^}]*status="200"/);
          assert.match(text, /product_cache_lookups_total\{result="hit"[^}]*\} [1-9]/);
          assert.match(text, /product_cache_lookups_total\{result="miss"[^}]*\} [1-9]/);
        });

        await t.step("readiness reports the database and the cache", async () => {
          const res = await req("/health/ready", { headers: { "X-API-Key": "" } });
          assert.equal(res.status, 200);
          const doc = await res.json();
          assert.deepEqual(doc.meta.dependencies, { database: "up", cache: "up" });
        });
      } finally {
        await db.close();
      }
    },
  });
}
