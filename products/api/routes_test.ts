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
