import type { Clock, EventLog } from "@stockroom/kernel";
import type { ProductCache, ProductRead, ProductRepository } from "../domain/ports.ts";
import {
  type ExpectedVersions,
  type NewProduct,
  type Product,
  type ProductChanges,
  type ProductListQuery,
  VersionMismatch,
} from "../domain/product.ts";

/** Bounds the memory a long cache outage can take; past it, entries expire by their TTL. */
const MAX_UNCONFIRMED = 10_000;
/** Remembered invalidations are retried at most this often, a batch at a time. */
const RETRY_INTERVAL_MS = 1000;
const RETRY_BATCH = 20;
const FAILED = Symbol("cache call failed");

export interface CachedProductRepositoryOptions {
  /** How long a filled entry lives; 0 turns reading and filling off (changes still invalidate). */
  ttlSeconds: number;
  /**
   * How long an invalidation blocks refills: longer than any read of the store can take, so no
   * read that saw the old row outlives it.
   */
  graceSeconds: number;
  clock: Clock;
  /** Where a degraded cache call is reported (`cache.unavailable`). */
  log: EventLog;
  /** Told of every cache call that failed or timed out (for metrics). */
  onError?: (operation: string) => void;
}

/**
 * The read-through cache of the seed, as a decorator of the repository port: reads try the cache,
 * then the store, and fill the cache; changes go to the store, then invalidate. A failing cache is
 * logged and skipped, never fatal (a remote cache adapter bounds its own calls, so a hanging one
 * fails too). A product whose last invalidation did not reach the cache is
 * read from the store until one does (retried in the background), so a cache outage during a
 * change cannot leave the old product being served afterwards. A conditional change the store
 * refused (VersionMismatch) invalidates too: the client saw a version the store no longer holds,
 * perhaps from this cache, and its next read, for the current ETag, must come from the store.
 */
export class CachedProductRepository implements ProductRepository {
  readonly #store: ProductRepository;
  readonly #cache: ProductCache;
  readonly #options: CachedProductRepositoryOptions;
  /** Ids changed while the cache could not be told; never served from the cache until it is. */
  readonly #unconfirmed = new Set<string>();
  #lastRetry = -Infinity;

  constructor(
    store: ProductRepository,
    cache: ProductCache,
    options: CachedProductRepositoryOptions,
  ) {
    this.#store = store;
    this.#cache = cache;
    this.#options = options;
  }

  create(product: NewProduct & { id: string }, at: string): Promise<Product | null> {
    return this.#store.create(product, at);
  }

  async read(id: string): Promise<ProductRead | null> {
    this.#retryUnconfirmed();
    const useCache = this.#options.ttlSeconds > 0 &&
      (!this.#unconfirmed.has(id) || await this.#invalidate(id));
    if (useCache) {
      const cached = await this.#guard(() => this.#cache.get(id), "get", id);
      if (cached !== FAILED && cached) return { product: cached, cached: true };
    }
    const read = await this.#store.read(id);
    if (read && useCache) {
      await this.#guard(() => this.#cache.fill(read.product, this.#options.ttlSeconds), "fill", id);
    }
    return read && { product: read.product, cached: false };
  }

  list(query: ProductListQuery) {
    return this.#store.list(query);
  }

  async update(
    id: string,
    changes: ProductChanges,
    at: string,
    expected?: ExpectedVersions,
  ): Promise<Product | VersionMismatch | null> {
    const updated = await this.#invalidatingOnFailure(
      id,
      () => this.#store.update(id, changes, at, expected),
    );
    // An empty change wrote nothing, so there is nothing to forget.
    const changed = updated !== null && Object.keys(changes).length > 0;
    if (changed || updated instanceof VersionMismatch) await this.#invalidate(id);
    return updated;
  }

  async delete(id: string, expected?: ExpectedVersions): Promise<boolean | VersionMismatch> {
    const deleted = await this.#invalidatingOnFailure(id, () => this.#store.delete(id, expected));
    if (deleted !== false) await this.#invalidate(id); // deleted, or refused as in update()
    return deleted;
  }

  /** A change that failed may still have been applied (an unknown outcome): forget the entry. */
  async #invalidatingOnFailure<T>(id: string, change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } catch (err) {
      await this.#invalidate(id);
      throw err;
    }
  }

  ping(): Promise<void> {
    return this.#store.ping();
  }

  async close(): Promise<void> {
    await Promise.all([this.#store.close(), this.#cache.close()]);
  }

  /** True once the cache has confirmed; otherwise the id is remembered and retried later. */
  async #invalidate(id: string): Promise<boolean> {
    // Even with reads off now, entries from an earlier TTL may still be there.
    const done = await this.#guard(
      () => this.#cache.invalidate(id, this.#options.graceSeconds),
      "invalidate",
      id,
    );
    if (done === FAILED) {
      if (this.#unconfirmed.size < MAX_UNCONFIRMED) this.#unconfirmed.add(id);
      return false;
    }
    this.#unconfirmed.delete(id);
    return true;
  }

  /**
   * Retries the remembered invalidations in the background, so products nobody reads here are
   * cleaned too once the cache is back (other instances read them from it).
   */
  #retryUnconfirmed(): void {
    if (this.#unconfirmed.size === 0) return;
    const now = this.#options.clock.now().getTime();
    if (now - this.#lastRetry < RETRY_INTERVAL_MS) return;
    this.#lastRetry = now;
    const batch = [...this.#unconfirmed].slice(0, RETRY_BATCH);
    void Promise.all(batch.map((id) => this.#invalidate(id)));
  }

  async #guard<T>(
    call: () => Promise<T>,
    operation: string,
    id: string,
  ): Promise<T | typeof FAILED> {
    try {
      return await call();
    } catch (err) {
      this.#options.onError?.(operation);
      this.#options.log.warn(
        { product_id: id, operation, error: err instanceof Error ? err.message : String(err) },
        "cache.unavailable",
      );
      return FAILED;
    }
  }
}
