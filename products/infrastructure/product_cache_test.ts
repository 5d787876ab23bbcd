import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import type { ProductCache } from "../domain/ports.ts";
import { LruProductCache } from "./lru_product_cache.ts";
import { productCacheContract } from "../../tests/contracts/product_cache.ts";
import { TieredProductCache } from "./tiered_product_cache.ts";
import { UpstashProductCache } from "./upstash_product_cache.ts";

let clock = 0;
productCacheContract(
  "in-process LRU",
  () => Promise.resolve(new LruProductCache({ now: () => clock })),
  {
    expire: () => {
      clock += 1001;
      return Promise.resolve();
    },
  },
);

/** A product named after its id, for the LRU's own cases. */
const p = (id: string) => ({
  id,
  name: id,
  description: "",
  price: 1,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  version: 1,
});

const url = Deno.env.get("UPSTASH_REDIS_REST_URL");
const token = Deno.env.get("UPSTASH_REDIS_REST_TOKEN");
productCacheContract(
  "Upstash REST (UPSTASH_REDIS_REST_URL)",
  () => Promise.resolve(new UpstashProductCache({ url: url!, token: token! })),
  {
    ignore: !url || !token,
    expire: () => new Promise((resolve) => setTimeout(resolve, 2100)),
  },
);

productCacheContract(
  "L1 LRU in front of Upstash REST (UPSTASH_REDIS_REST_URL)",
  () =>
    Promise.resolve(
      new TieredProductCache(
        new LruProductCache(),
        new UpstashProductCache({ url: url!, token: token! }),
        1,
      ),
    ),
  {
    ignore: !url || !token,
    expire: () => new Promise((resolve) => setTimeout(resolve, 2100)),
  },
);

productCacheContract(
  "L1 LRU in front of an in-process LRU",
  () => {
    const now = () => clock;
    return Promise.resolve(
      new TieredProductCache(new LruProductCache({ now }), new LruProductCache({ now }), 1),
    );
  },
  {
    expire: () => {
      clock += 1001;
      return Promise.resolve();
    },
  },
);

Deno.test("TieredProductCache serves L1 hits without asking the shared cache", async () => {
  const l2 = new LruProductCache();
  let l2Reads = 0;
  const counting: ProductCache = {
    get: (id) => {
      l2Reads++;
      return l2.get(id);
    },
    fill: (p, ttl) => l2.fill(p, ttl),
    invalidate: (id, grace) => l2.invalidate(id, grace),
    ping: () => l2.ping(),
    close: () => l2.close(),
  };
  const cache = new TieredProductCache(new LruProductCache(), counting, 5);
  const product = {
    id: "p",
    name: "n",
    description: "",
    price: 1,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    version: 1,
  };
  await l2.fill(product, 60);
  assert.equal((await cache.get("p"))?.id, "p");
  assert.equal((await cache.get("p"))?.id, "p");
  assert.equal(l2Reads, 1, "the second read came from L1");
  await cache.invalidate("p", 10);
  assert.equal(await cache.get("p"), null);
});

Deno.test("LruProductCache evicts the least recently used entry past its bound", async () => {
  const cache = new LruProductCache({ maxEntries: 2 });
  await cache.fill(p("a"), 60);
  await cache.fill(p("b"), 60);
  await cache.get("a");
  await cache.fill(p("c"), 60);
  assert.equal(cache.size, 2);
  assert.equal(await cache.get("b"), null, "b was least recently used");
  assert.equal((await cache.get("a"))?.id, "a");
  assert.equal((await cache.get("c"))?.id, "c");
});

Deno.test("LruProductCache keeps its own frozen copy, so callers cannot change what is cached", async () => {
  const cache = new LruProductCache();
  const original = {
    id: "x",
    name: "n",
    description: "",
    price: 1,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    version: 1,
  };
  await cache.fill(original, 60);
  original.name = "changed";
  const got = await cache.get("x");
  assert.throws(() => {
    (got as { price: number }).price = 99; // the type forbids it; the frozen copy does too
  }, TypeError);
  assert.deepEqual(await cache.get("x"), { ...original, name: "n" });
});

Deno.test("UpstashProductCache fails fast when the REST endpoint is down", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const cache = new UpstashProductCache({ url: `http://127.0.0.1:${port}`, token: "t" });
  await assert.rejects(cache.get("x"));
});

Deno.test({
  name: "UpstashProductCache misses on an entry from before products had a version",
  ignore: !url || !token,
  async fn() {
    const keyPrefix = `test:${crypto.randomUUID()}:`;
    const cache = new UpstashProductCache({ url: url!, token: token!, keyPrefix });
    const redis = new Redis({ url: url!, token: token! });
    const id = crypto.randomUUID();
    const old = {
      id,
      name: "n",
      description: "",
      price: 1,
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    };
    try {
      await redis.set(keyPrefix + id, old, { ex: 60 });
      assert.equal(await cache.get(id), null, "no version, no ETag: read the database");
      await redis.set(keyPrefix + id, { ...old, version: 4 }, { ex: 60 });
      assert.deepEqual(await cache.get(id), { ...old, version: 4 });
    } finally {
      await redis.del(keyPrefix + id);
    }
  },
});

Deno.test("LruProductCache: a read entry outlives three quarters of its bound in newer entries", async () => {
  const cache = new LruProductCache({ maxEntries: 8 });
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  for (const id of ids("a", 8)) await cache.fill(p(id), 60);
  // a0 is the oldest and is read: it moves. a7, the newest, is read and need not move.
  assert.equal((await cache.get("a0"))?.id, "a0");
  assert.equal((await cache.get("a7"))?.id, "a7");
  for (const id of ids("b", 6)) await cache.fill(p(id), 60);
  assert.equal(cache.size, 8);
  assert.equal((await cache.get("a0"))?.id, "a0");
  assert.equal((await cache.get("a7"))?.id, "a7");
  for (const id of ids("a", 7).slice(1)) assert.equal(await cache.get(id), null, `${id} went`);
});
