import assert from "node:assert/strict";
import type { EventLog, ProductCache, ProductRepository } from "../domain/ports.ts";
import {
  type Product,
  ProductAlreadyExistsError,
  ProductNotFoundError,
} from "../domain/product.ts";
import { LruProductCache } from "../infrastructure/lru_product_cache.ts";
import { ProductService } from "./product_service.ts";

const PRODUCT: Product = {
  id: "00000000-0000-4000-8000-000000000001",
  name: "Mug",
  description: "",
  price: 3,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
};

function fakeRepository(rows = new Map([[PRODUCT.id, PRODUCT]])): ProductRepository & {
  reads: number;
} {
  return {
    reads: 0,
    create: (p, at) =>
      Promise.resolve(
        rows.has(p.id) ? null : { ...p, createdAt: at, updatedAt: at },
      ),
    findById(id) {
      this.reads++;
      return Promise.resolve(rows.get(id) ?? null);
    },
    list: () => Promise.resolve({ items: [...rows.values()], total: rows.size }),
    update: (id, changes, at) =>
      Promise.resolve(rows.has(id) ? { ...rows.get(id)!, ...changes, updatedAt: at } : null),
    delete: (id) => Promise.resolve(rows.delete(id)),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

type CacheBehaviour = "ok" | "fail" | "hang";

function fakeCache(behaviour: CacheBehaviour = "ok"): ProductCache & { calls: string[] } {
  const entries = new Map<string, Product>();
  const calls: string[] = [];
  const act = <T>(name: string, result: () => T): Promise<T> => {
    calls.push(name);
    if (behaviour === "fail") return Promise.reject(new Error("cache down"));
    if (behaviour === "hang") return new Promise(() => {});
    return Promise.resolve(result());
  };
  return {
    calls,
    get: (id) => act("get", () => entries.get(id) ?? null),
    fill: (p) => act("fill", () => void entries.set(p.id, p)),
    invalidate: (id) => act("invalidate", () => void entries.delete(id)),
    ping: () => act("ping", () => undefined),
    close: () => Promise.resolve(),
  };
}

function recordingLog(): EventLog & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return {
    warnings,
    infos,
    info: (_fields, message) => void infos.push(message),
    warn: (_fields, message) => void warnings.push(message),
  };
}

Deno.test("ProductService.get() reads through the cache: MISS, then HIT", async () => {
  const repository = fakeRepository();
  const service = new ProductService({ repository, cache: fakeCache(), cacheTtlSeconds: 60 });
  const log = recordingLog();
  assert.equal((await service.get(PRODUCT.id, log)).cache, "MISS");
  const second = await service.get(PRODUCT.id.toUpperCase(), log);
  assert.deepEqual(second, { product: PRODUCT, cache: "HIT" });
  assert.equal(repository.reads, 1);
});

for (const behaviour of ["fail", "hang"] as const) {
  Deno.test(`ProductService.get() falls back to the repository when the cache ${behaviour}s`, async () => {
    const repository = fakeRepository();
    const cache = fakeCache(behaviour);
    const service = new ProductService({
      repository,
      cache,
      cacheTtlSeconds: 60,
      cacheTimeoutMs: 20,
    });
    const log = recordingLog();
    assert.deepEqual(await service.get(PRODUCT.id, log), { product: PRODUCT, cache: "MISS" });
    assert.deepEqual(log.warnings, ["cache.unavailable", "cache.unavailable"]);
    await service.delete(PRODUCT.id, log);
    assert.equal(log.warnings.length, 3, "a failed invalidation is logged, not fatal");
  });
}

Deno.test("ProductService with TTL 0 never reads or fills the cache", async () => {
  const cache = fakeCache();
  const service = new ProductService({ repository: fakeRepository(), cache, cacheTtlSeconds: 0 });
  await service.get(PRODUCT.id, recordingLog());
  await service.get(PRODUCT.id, recordingLog());
  assert.deepEqual(cache.calls, []);
});

Deno.test("ProductService.update() and delete() invalidate the cached entry", async () => {
  const cache = fakeCache();
  const service = new ProductService({ repository: fakeRepository(), cache, cacheTtlSeconds: 60 });
  const log = recordingLog();
  await service.get(PRODUCT.id, log);
  const updated = await service.update(PRODUCT.id, { price: 4 }, log);
  assert.equal(updated.price, 4);
  assert.equal((await service.get(PRODUCT.id, log)).cache, "MISS");
  await service.delete(PRODUCT.id, log);
  assert.deepEqual(cache.calls.filter((c) => c === "invalidate").length, 2);
  await assert.rejects(service.get(PRODUCT.id, log), ProductNotFoundError);
  assert.deepEqual(log.infos, ["product.updated", "product.deleted"]);
});

Deno.test("ProductService.create() refuses a taken id", async () => {
  const service = new ProductService({
    repository: fakeRepository(),
    cache: fakeCache(),
    cacheTtlSeconds: 60,
  });
  await assert.rejects(
    service.create({ id: PRODUCT.id, name: "x", description: "", price: 1 }, recordingLog()),
    ProductAlreadyExistsError,
  );
});

Deno.test("ProductService.update() and delete() report a missing product", async () => {
  const service = new ProductService({
    repository: fakeRepository(new Map()),
    cache: fakeCache(),
    cacheTtlSeconds: 60,
  });
  await assert.rejects(
    service.update(PRODUCT.id, { name: "x" }, recordingLog()),
    ProductNotFoundError,
  );
  await assert.rejects(service.update(PRODUCT.id, {}, recordingLog()), ProductNotFoundError);
  await assert.rejects(service.delete(PRODUCT.id, recordingLog()), ProductNotFoundError);
});

Deno.test("ProductService never caches a read that raced a change", async () => {
  const rows = new Map([[PRODUCT.id, PRODUCT]]);
  const repository = fakeRepository(rows);
  let releaseRead: () => void = () => {};
  const slowRead = repository.findById.bind(repository);
  let first = true;
  repository.findById = async (id) => {
    const row = await slowRead(id); // the old row, read before the change
    if (first) {
      first = false;
      await new Promise<void>((resolve) => releaseRead = resolve);
    }
    return row;
  };
  const cache = new LruProductCache();
  const service = new ProductService({ repository, cache, cacheTtlSeconds: 60 });
  const log = recordingLog();
  const racingGet = service.get(PRODUCT.id, log);
  await new Promise((resolve) => setTimeout(resolve, 0));
  rows.set(PRODUCT.id, { ...PRODUCT, price: 9 });
  await service.update(PRODUCT.id, { price: 9 }, log); // invalidates while the read is held
  releaseRead();
  assert.equal((await racingGet).product.price, 3, "that request saw the old row");
  const next = await service.get(PRODUCT.id, log);
  assert.deepEqual([next.cache, next.product.price], ["MISS", 9], "but did not cache it");
});

Deno.test("ProductService serves no stale product after an invalidation the cache missed", async () => {
  const rows = new Map([[PRODUCT.id, PRODUCT]]);
  const lru = new LruProductCache();
  let down = false;
  const flaky: ProductCache = {
    get: (id) => down ? Promise.reject(new Error("down")) : lru.get(id),
    fill: (p, ttl) => down ? Promise.reject(new Error("down")) : lru.fill(p, ttl),
    invalidate: (id, g) => down ? Promise.reject(new Error("down")) : lru.invalidate(id, g),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const service = new ProductService({
    repository: fakeRepository(rows),
    cache: flaky,
    cacheTtlSeconds: 60,
  });
  const log = recordingLog();
  await service.get(PRODUCT.id, log); // cached at price 3
  down = true;
  rows.set(PRODUCT.id, { ...PRODUCT, price: 9 });
  await service.update(PRODUCT.id, { price: 9 }, log); // the invalidation fails
  down = false;
  const after = await service.get(PRODUCT.id, log);
  assert.equal(after.product.price, 9, "the old cached price is never served");
  assert.equal(after.cache, "MISS");
});
