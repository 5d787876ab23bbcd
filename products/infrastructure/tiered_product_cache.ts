import type { ProductCache } from "../domain/ports.ts";
import type { Product } from "../domain/product.ts";
import type { LruProductCache } from "./lru_product_cache.ts";

/**
 * A small in-process cache (L1) in front of the shared one (L2, Upstash): a hit in L1 costs no
 * round trip. Changes made through this instance invalidate both tiers at once; a change made
 * through another instance reaches this one's L1 only when its entry expires, so reads may be up
 * to `l1TtlSeconds` stale across instances. That bound is the price of the speed, and
 * CACHE_L1_TTL_SECONDS=0 turns L1 off.
 */
export class TieredProductCache implements ProductCache {
  constructor(
    private readonly l1: LruProductCache,
    private readonly l2: ProductCache,
    private readonly l1TtlSeconds: number,
  ) {}

  get(id: string): Promise<Product | null> {
    const local = this.l1.lookup(id);
    return local ? Promise.resolve(local) : this.#getShared(id);
  }

  async #getShared(id: string): Promise<Product | null> {
    const shared = await this.l2.get(id);
    if (shared) await this.l1.fill(shared, this.l1TtlSeconds);
    return shared;
  }

  async fill(product: Product, ttlSeconds: number): Promise<void> {
    await this.l2.fill(product, ttlSeconds);
    await this.l1.fill(product, Math.min(ttlSeconds, this.l1TtlSeconds));
  }

  async invalidate(id: string, graceSeconds: number): Promise<void> {
    // L1 first: even if the shared cache is down, this instance stops serving the old product.
    await this.l1.invalidate(id, graceSeconds);
    await this.l2.invalidate(id, graceSeconds);
  }

  ping(): Promise<void> {
    return this.l2.ping();
  }

  async close(): Promise<void> {
    await Promise.all([this.l1.close(), this.l2.close()]);
  }
}
