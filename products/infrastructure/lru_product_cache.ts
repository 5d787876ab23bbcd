import type { ProductCache } from "../domain/ports.ts";
import type { Product } from "../domain/product.ts";

export interface LruCacheOptions {
  maxEntries?: number;
  now?: () => number;
}

/** A bounded in-process cache: least recently used entries go first, expired ones on read. */
export class LruProductCache implements ProductCache {
  // A null product is a tombstone.
  readonly #entries = new Map<string, { product: Product | null; expiresAt: number }>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: LruCacheOptions = {}) {
    this.#max = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  get(id: string): Promise<Product | null> {
    return Promise.resolve(this.lookup(id));
  }

  /** `get` without the promise, for a tier in front of a remote cache. */
  lookup(id: string): Product | null {
    const entry = this.#entries.get(id);
    if (!entry) return null;
    this.#entries.delete(id);
    if (entry.expiresAt <= this.#now()) return null;
    // Re-inserting moves the key to the end of the Map's insertion order: most recently used.
    this.#entries.set(id, entry);
    return entry.product;
  }

  fill(product: Product, ttlSeconds: number) {
    const current = this.#entries.get(product.id);
    if (!current || current.expiresAt <= this.#now()) {
      // A frozen copy: shared by every reader without copying, and no caller can change it.
      this.#put(product.id, Object.freeze({ ...product }), ttlSeconds);
    }
    return Promise.resolve();
  }

  invalidate(id: string, graceSeconds: number) {
    this.#put(id, null, graceSeconds);
    return Promise.resolve();
  }

  #put(id: string, product: Product | null, ttlSeconds: number): void {
    this.#entries.delete(id);
    this.#entries.set(id, { product, expiresAt: this.#now() + ttlSeconds * 1000 });
    while (this.#entries.size > this.#max) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  ping() {
    return Promise.resolve();
  }

  close() {
    this.#entries.clear();
    return Promise.resolve();
  }
}
