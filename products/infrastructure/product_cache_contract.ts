import assert from "node:assert/strict";
import type { ProductCache } from "../domain/ports.ts";
import type { Product } from "../domain/product.ts";

function product(overrides: Partial<Product> = {}): Product {
  return {
    id: crypto.randomUUID(),
    name: 'Mug ☕ "quoted" 𝄞',
    description: "line\nbreak",
    price: 12.34,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-02T00:00:00.000Z",
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
        await t.step("set() then get() returns an equal product", async () => {
          const p = product();
          await cache.set(p, 60);
          assert.deepEqual(await cache.get(p.id), p);
        });
        await t.step("set() replaces the entry", async () => {
          const p = product();
          await cache.set(p, 60);
          await cache.set({ ...p, price: 1 }, 60);
          assert.equal((await cache.get(p.id))?.price, 1);
        });
        await t.step("delete() removes the entry and ignores a missing one", async () => {
          const p = product();
          await cache.set(p, 60);
          await cache.delete(p.id);
          await cache.delete(p.id);
          assert.equal(await cache.get(p.id), null);
        });
        await t.step("entries expire after their TTL", async () => {
          const p = product();
          await cache.set(p, 1);
          await options.expire();
          assert.equal(await cache.get(p.id), null);
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
