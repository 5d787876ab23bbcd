import assert from "node:assert/strict";
import type { ProductCache } from "../../products/domain/ports.ts";
import type { Product } from "../../products/domain/product.ts";

function product(overrides: Partial<Product> = {}): Product {
  return {
    id: crypto.randomUUID(),
    name: 'Mug ☕ "quoted" 𝄞',
    description: "line\nbreak",
    price: 12.34,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-02T00:00:00.000Z",
    version: 7,
    ...overrides,
  };
}

export interface CacheContractOptions {
  ignore?: boolean;
  /** Lets the entry written with a 1 s TTL expire (advance a fake clock or wait). */
  expire: () => Promise<void>;
}

/** The one suite every ProductCache adapter must pass. */
export function productCacheContract(
  name: string,
  open: () => Promise<ProductCache>,
  options: CacheContractOptions,
): void {
  Deno.test({
    name: `ProductCache contract: ${name}`,
    ignore: options.ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const cache = await open();
      try {
        await t.step("get() misses with null", async () => {
          assert.equal(await cache.get(crypto.randomUUID()), null);
        });
        await t.step("fill() then get() returns an equal product", async () => {
          const p = product();
          await cache.fill(p, 60);
          assert.deepEqual(await cache.get(p.id), p);
        });
        await t.step("fill() never overwrites an entry", async () => {
          const p = product();
          await cache.fill(p, 60);
          await cache.fill({ ...p, price: 1 }, 60);
          assert.equal((await cache.get(p.id))?.price, p.price);
        });
        await t.step(
          "invalidate() hides the entry and blocks fills during the grace period",
          async () => {
            const p = product();
            await cache.fill(p, 60);
            await cache.invalidate(p.id, 60);
            assert.equal(await cache.get(p.id), null);
            await cache.fill({ ...p, name: "stale read" }, 60);
            assert.equal(await cache.get(p.id), null, "a read from before the change stays out");
            await cache.invalidate(crypto.randomUUID(), 60);
          },
        );
        await t.step("entries expire after their TTL, and so do tombstones", async () => {
          const p = product();
          const q = product();
          await cache.fill(p, 1);
          await cache.invalidate(q.id, 1);
          await options.expire();
          assert.equal(await cache.get(p.id), null);
          await cache.fill(q, 60);
          assert.deepEqual(await cache.get(q.id), q, "filled again once the tombstone expired");
        });
        await t.step("ping() answers", async () => {
          await cache.ping();
        });
      } finally {
        await cache.close();
      }
    },
  });
}
