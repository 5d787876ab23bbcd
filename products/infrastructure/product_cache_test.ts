import assert from "node:assert/strict";
import { LruProductCache } from "./lru_product_cache.ts";
import { productCacheContract } from "./product_cache_contract.ts";
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

Deno.test("LruProductCache evicts the least recently used entry past its bound", async () => {
  const cache = new LruProductCache({ maxEntries: 2 });
  const p = (id: string) => ({
    id,
    name: id,
    description: "",
    price: 1,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
  });
  await cache.fill(p("a"), 60);
  await cache.fill(p("b"), 60);
  await cache.get("a");
  await cache.fill(p("c"), 60);
  assert.equal(cache.size, 2);
  assert.equal(await cache.get("b"), null, "b was least recently used");
  assert.equal((await cache.get("a"))?.id, "a");
  assert.equal((await cache.get("c"))?.id, "c");
});

Deno.test("LruProductCache hands out copies, so callers cannot change what is cached", async () => {
  const cache = new LruProductCache();
  const original = {
    id: "x",
    name: "n",
    description: "",
    price: 1,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
  };
  await cache.fill(original, 60);
  original.name = "changed";
  const got = await cache.get("x");
  got!.price = 99;
  assert.deepEqual(await cache.get("x"), { ...original, name: "n" });
});

Deno.test("UpstashProductCache fails fast when the REST endpoint is down", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const cache = new UpstashProductCache({ url: `http://127.0.0.1:${port}`, token: "t" });
  await assert.rejects(cache.get("x"));
});
