import assert from "node:assert/strict";
import { systemClock } from "@stockroom/kernel";
import { productRepositoryContract } from "../../tests/contracts/product_repository.ts";
import { FakeClock } from "../../tests/support/fake_clock.ts";
import {
  DATABASE_URL,
  openPglite,
  openPostgres,
  type TestDatabase,
} from "../../tests/support/test_databases.ts";
import type { ProductCache, ProductRepository } from "../domain/ports.ts";
import { type Product, VersionMismatch } from "../domain/product.ts";
import { CachedProductRepository } from "./cached_product_repository.ts";
import { LruProductCache } from "./lru_product_cache.ts";
import { SqlProductRepository } from "./sql_product_repository.ts";
import { TieredProductCache } from "./tiered_product_cache.ts";
import { UpstashProductCache } from "./upstash_product_cache.ts";

const UPSTASH_URL = Deno.env.get("UPSTASH_REDIS_REST_URL");
const UPSTASH_TOKEN = Deno.env.get("UPSTASH_REDIS_REST_TOKEN");

function recordingLog() {
  const warnings: Record<string, unknown>[] = [];
  return {
    warnings,
    info() {},
    warn: (fields: Record<string, unknown>, message: string) =>
      void warnings.push({ ...fields, message }),
    error() {},
  };
}

function cachedSubject(open: () => Promise<TestDatabase>, newCache: () => ProductCache) {
  return async () => {
    const db = await open();
    const make = () =>
      new CachedProductRepository(new SqlProductRepository(db.sql), newCache(), {
        ttlSeconds: 60,
        graceSeconds: 10,
        clock: systemClock,
        log: recordingLog(),
      });
    const subject = {
      repo: make(),
      async reset() {
        await db.reset();
        // A fresh cache, so no entry of an earlier case (same ids) is served.
        subject.repo = make();
      },
      close: db.close,
    };
    return subject;
  };
}

productRepositoryContract(
  "cached, LRU in front of SQL on PGlite",
  cachedSubject(openPglite, () => new LruProductCache()),
);
productRepositoryContract(
  "cached, L1 and Upstash in front of SQL on PostgreSQL",
  cachedSubject(openPostgres, () =>
    new TieredProductCache(
      new LruProductCache(),
      new UpstashProductCache({
        url: UPSTASH_URL!,
        token: UPSTASH_TOKEN!,
        keyPrefix: `test:${crypto.randomUUID()}:`,
      }),
      1,
    )),
  { ignore: !DATABASE_URL || !UPSTASH_URL || !UPSTASH_TOKEN },
);

const PRODUCT: Product = {
  id: "00000000-0000-4000-8000-000000000001",
  name: "Mug",
  description: "",
  price: 3,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  version: 1,
};

function fakeStore(rows = new Map([[PRODUCT.id, PRODUCT]])): ProductRepository & {
  reads: number;
} {
  const mismatch = (id: string, expected?: readonly number[]) => {
    const current = rows.get(id);
    return current && expected && !expected.includes(current.version)
      ? new VersionMismatch(current.version)
      : undefined;
  };
  return {
    reads: 0,
    create: (p, at) =>
      Promise.resolve(rows.has(p.id) ? null : { ...p, createdAt: at, updatedAt: at, version: 1 }),
    read(id) {
      this.reads++;
      const product = rows.get(id);
      return Promise.resolve(product ? { product, cached: false } : null);
    },
    list: () => Promise.resolve({ items: [...rows.values()], total: rows.size }),
    update(id, changes, at, expected) {
      const current = rows.get(id);
      if (!current) return Promise.resolve(null);
      const refused = mismatch(id, expected);
      if (refused || Object.keys(changes).length === 0) return Promise.resolve(refused ?? current);
      const updated = { ...current, ...changes, updatedAt: at, version: current.version + 1 };
      rows.set(id, updated);
      return Promise.resolve(updated);
    },
    delete: (id, expected) => Promise.resolve(mismatch(id, expected) ?? rows.delete(id)),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

/** An in-process cache that can be switched off, counting its calls. */
function flakyCache(): ProductCache & { down: boolean; calls: string[] } {
  const lru = new LruProductCache();
  const cache = {
    down: false,
    calls: [] as string[],
    act<T>(name: string, call: () => Promise<T>): Promise<T> {
      cache.calls.push(name);
      return cache.down ? Promise.reject(new Error("cache down")) : call();
    },
    get: (id: string) => cache.act("get", () => lru.get(id)),
    fill: (p: Product, ttl: number) => cache.act("fill", () => lru.fill(p, ttl)),
    invalidate: (id: string, grace: number) =>
      cache.act("invalidate", () => lru.invalidate(id, grace)),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return cache;
}

function cached(store: ProductRepository, cache: ProductCache, ttlSeconds = 60) {
  const log = recordingLog();
  const errors: string[] = [];
  const clock = new FakeClock();
  const repo = new CachedProductRepository(store, cache, {
    ttlSeconds,
    graceSeconds: 10,
    clock,
    log,
    onError: (operation) => void errors.push(operation),
  });
  return { repo, log, errors, clock };
}

Deno.test("CachedProductRepository reads through the cache: a miss, then a hit", async () => {
  const store = fakeStore();
  const { repo } = cached(store, new LruProductCache());
  assert.deepEqual(await repo.read(PRODUCT.id), { product: PRODUCT, cached: false });
  assert.deepEqual(await repo.read(PRODUCT.id), { product: PRODUCT, cached: true });
  assert.equal(store.reads, 1);
});

Deno.test("CachedProductRepository falls back to the store when the cache fails", async () => {
  const cache = flakyCache();
  cache.down = true;
  const { repo, log, errors } = cached(fakeStore(), cache);
  assert.deepEqual(await repo.read(PRODUCT.id), { product: PRODUCT, cached: false });
  assert.deepEqual(log.warnings.map((w) => [w.message, w.operation, w.product_id]), [
    ["cache.unavailable", "get", PRODUCT.id],
    ["cache.unavailable", "fill", PRODUCT.id],
  ]);
  assert.equal(await repo.delete(PRODUCT.id), true, "a failed invalidation is logged, not fatal");
  assert.deepEqual(errors, ["get", "fill", "invalidate"]);
});

Deno.test("CachedProductRepository with TTL 0 never reads or fills the cache, but invalidates", async () => {
  const cache = flakyCache();
  const { repo } = cached(fakeStore(), cache, 0);
  await repo.read(PRODUCT.id);
  await repo.read(PRODUCT.id);
  assert.deepEqual(cache.calls, []);
  await repo.update(PRODUCT.id, { price: 4 }, PRODUCT.updatedAt);
  assert.deepEqual(cache.calls, ["invalidate"], "entries of an earlier TTL may still be there");
});

Deno.test("CachedProductRepository.update() and delete() invalidate the cached entry", async () => {
  const cache = flakyCache();
  const { repo } = cached(fakeStore(), cache);
  await repo.read(PRODUCT.id);
  const updated = await repo.update(PRODUCT.id, { price: 4 }, PRODUCT.updatedAt);
  assert.equal((updated as Product).price, 4);
  assert.equal((await repo.read(PRODUCT.id))?.cached, false);
  assert.equal(await repo.delete(PRODUCT.id), true);
  assert.equal(cache.calls.filter((c) => c === "invalidate").length, 2);
  assert.equal(await repo.read(PRODUCT.id), null);
  assert.equal(await repo.update(PRODUCT.id, { price: 5 }, PRODUCT.updatedAt), null);
  assert.equal(await repo.delete(PRODUCT.id), false);
  assert.equal(cache.calls.filter((c) => c === "invalidate").length, 2, "nothing to invalidate");
});

Deno.test("CachedProductRepository never caches a read that raced a change", async () => {
  const rows = new Map([[PRODUCT.id, PRODUCT]]);
  const store = fakeStore(rows);
  let releaseRead: () => void = () => {};
  const slowRead = store.read.bind(store);
  let first = true;
  store.read = async (id) => {
    const row = await slowRead(id); // the old row, read before the change
    if (first) {
      first = false;
      await new Promise<void>((resolve) => releaseRead = resolve);
    }
    return row;
  };
  const { repo } = cached(store, new LruProductCache());
  const racingRead = repo.read(PRODUCT.id);
  await new Promise((resolve) => setTimeout(resolve, 0));
  rows.set(PRODUCT.id, { ...PRODUCT, price: 9 });
  await repo.update(PRODUCT.id, { price: 9 }, PRODUCT.updatedAt); // invalidates while the read is held
  releaseRead();
  assert.equal((await racingRead)?.product.price, 3, "that request saw the old row");
  const next = await repo.read(PRODUCT.id);
  assert.deepEqual([next?.cached, next?.product.price], [false, 9], "but did not cache it");
});

Deno.test("CachedProductRepository serves no stale product after an invalidation the cache missed", async () => {
  const rows = new Map([[PRODUCT.id, PRODUCT]]);
  const cache = flakyCache();
  const { repo, clock } = cached(fakeStore(rows), cache);
  await repo.read(PRODUCT.id); // cached at price 3
  cache.down = true;
  rows.set(PRODUCT.id, { ...PRODUCT, price: 9 });
  await repo.update(PRODUCT.id, { price: 9 }, PRODUCT.updatedAt); // the invalidation fails
  cache.down = false;
  const after = await repo.read(PRODUCT.id);
  assert.equal(after?.product.price, 9, "the old cached price is never served");
  assert.equal(after?.cached, false);

  // An invalidation missed for a product nobody reads here is retried in the background.
  const other = { ...PRODUCT, id: "00000000-0000-4000-8000-000000000002" };
  rows.set(other.id, other);
  await repo.read(other.id);
  cache.down = true;
  await repo.delete(other.id);
  cache.down = false;
  cache.calls.length = 0;
  await repo.read(PRODUCT.id);
  assert.ok(!cache.calls.includes("invalidate"), "no retry within the interval");
  clock.advance(1000);
  await repo.read(PRODUCT.id);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(cache.calls.includes("invalidate"), "retried once the interval passed");
  assert.equal(await cache.get(other.id), null);
});

Deno.test("CachedProductRepository invalidates after a conditional change as after any other", async () => {
  const cache = flakyCache();
  const { repo } = cached(fakeStore(), cache);
  await repo.read(PRODUCT.id);
  const updated = await repo.update(PRODUCT.id, { price: 4 }, PRODUCT.updatedAt, [1]);
  assert.deepEqual([(updated as Product).price, (updated as Product).version], [4, 2]);
  const read = await repo.read(PRODUCT.id);
  assert.deepEqual([read?.cached, read?.product.version], [false, 2]);
  assert.equal(await repo.delete(PRODUCT.id, [2]), true);
  assert.equal(cache.calls.filter((c) => c === "invalidate").length, 2);
  assert.equal(await repo.read(PRODUCT.id), null);
});

Deno.test("CachedProductRepository serves no stale product after a refused conditional change", async () => {
  for (const refuse of ["update", "delete"] as const) {
    const rows = new Map([[PRODUCT.id, PRODUCT]]);
    const { repo } = cached(fakeStore(rows), new LruProductCache());
    await repo.read(PRODUCT.id); // version 1 cached
    // Changed where this cache was not told (another instance, whose L1 this is not).
    rows.set(PRODUCT.id, { ...PRODUCT, price: 9, version: 2 });
    assert.equal((await repo.read(PRODUCT.id))?.product.version, 1, "the cache is behind");
    const refused = refuse === "update"
      ? await repo.update(PRODUCT.id, { price: 5 }, PRODUCT.updatedAt, [1])
      : await repo.delete(PRODUCT.id, [1]);
    assert.deepEqual(refused, new VersionMismatch(2), refuse);
    const after = await repo.read(PRODUCT.id);
    assert.deepEqual([after?.cached, after?.product.version, after?.product.price], [false, 2, 9]);
  }
});

Deno.test("CachedProductRepository leaves the cache alone for an empty change that matched", async () => {
  const cache = flakyCache();
  const { repo } = cached(fakeStore(), cache);
  await repo.read(PRODUCT.id);
  assert.deepEqual(await repo.update(PRODUCT.id, {}, PRODUCT.updatedAt, [1]), PRODUCT);
  assert.ok(!cache.calls.includes("invalidate"));
  assert.equal((await repo.read(PRODUCT.id))?.cached, true);
});
