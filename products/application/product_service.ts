import { withTimeout } from "@stockroom/shared/timeout";
import type { EventLog, ProductCache, ProductRepository } from "../domain/ports.ts";
import {
  type NewProduct,
  type Product,
  ProductAlreadyExistsError,
  type ProductChanges,
  type ProductListQuery,
  ProductNotFoundError,
  type ProductPage,
} from "../domain/product.ts";

/**
 * How long after a change no read may refill the cache: longer than any read of the database
 * takes (the store's query timeout is 5 s), so no read that saw the old row outlives it.
 */
export const INVALIDATION_GRACE_SECONDS = 10;

/** Bounds the memory a long cache outage can take; past it, entries expire by their TTL. */
const MAX_UNCONFIRMED = 10_000;
const FAILED = Symbol("cache call failed");

export interface ProductServiceDeps {
  repository: ProductRepository;
  cache: ProductCache;
  /** 0 turns the cache off. */
  cacheTtlSeconds: number;
  /**
   * How long a cache call may take before we read the database instead; 0 for an in-process cache
   * that cannot hang, which spares a timer per request.
   */
  cacheTimeoutMs?: number;
  now?: () => Date;
  newId?: () => string;
  /** Told of every cache call that failed or timed out (for metrics). */
  onCacheError?: (operation: string) => void;
}

export interface GetResult {
  product: Product;
  cache: "HIT" | "MISS";
}

/** The products use cases: read-through caching, invalidation on change, structured events. */
const PENDING = Symbol("pending");
const NOT_SETTLED = Promise.resolve(PENDING);

export class ProductService {
  readonly #repo: ProductRepository;
  readonly #cache: ProductCache;
  readonly #ttl: number;
  readonly #cacheTimeoutMs: number;
  readonly #now: () => Date;
  readonly #newId: () => string;
  readonly #onCacheError: (operation: string) => void;
  /** Ids changed while the cache could not be told; never served from the cache until it is. */
  readonly #unconfirmed = new Set<string>();
  #lastRetry = 0;

  constructor(deps: ProductServiceDeps) {
    this.#repo = deps.repository;
    this.#cache = deps.cache;
    this.#ttl = deps.cacheTtlSeconds;
    this.#cacheTimeoutMs = deps.cacheTimeoutMs ?? 250;
    this.#now = deps.now ?? (() => new Date());
    this.#newId = deps.newId ?? (() => crypto.randomUUID());
    this.#onCacheError = deps.onCacheError ?? (() => {});
  }

  async create(input: NewProduct, log: EventLog): Promise<Product> {
    const id = input.id?.toLowerCase() ?? this.#newId();
    const created = await this.#repo.create({ ...input, id }, this.#now().toISOString());
    if (!created) throw new ProductAlreadyExistsError(id);
    log.info({ product_id: id }, "product.created");
    return created;
  }

  /**
   * Cache first, then the repository; a failing cache is logged and skipped, never fatal. A product
   * whose last invalidation did not reach the cache is read from the repository until one does,
   * so a cache outage during a change cannot leave the old product being served afterwards.
   */
  async get(id: string, log: EventLog): Promise<GetResult> {
    const key = id.toLowerCase();
    this.#retryUnconfirmed(log);
    const useCache = this.#ttl > 0 &&
      (!this.#unconfirmed.has(key) || await this.#invalidate(key, log));
    if (useCache) {
      const cached = await this.#guard(() => this.#cache.get(key), "get", key, log);
      if (cached !== FAILED && cached) return { product: cached, cache: "HIT" };
    }
    const product = await this.#repo.findById(key);
    if (!product) throw new ProductNotFoundError(id);
    if (useCache) {
      await this.#guard(() => this.#cache.fill(product, this.#ttl), "fill", key, log);
    }
    return { product, cache: "MISS" };
  }

  list(query: ProductListQuery): Promise<ProductPage> {
    return this.#repo.list(query);
  }

  async update(id: string, changes: ProductChanges, log: EventLog): Promise<Product> {
    const key = id.toLowerCase();
    const updated = Object.keys(changes).length === 0
      ? await this.#repo.findById(key)
      : await this.#repo.update(key, changes, this.#now().toISOString());
    if (!updated) throw new ProductNotFoundError(id);
    await this.#invalidate(key, log);
    log.info({ product_id: key, fields: Object.keys(changes) }, "product.updated");
    return updated;
  }

  async delete(id: string, log: EventLog): Promise<void> {
    const key = id.toLowerCase();
    if (!(await this.#repo.delete(key))) throw new ProductNotFoundError(id);
    await this.#invalidate(key, log);
    log.info({ product_id: key }, "product.deleted");
  }

  /** True once the cache has confirmed; otherwise the id is remembered and retried later. */
  async #invalidate(id: string, log: EventLog): Promise<boolean> {
    // Even with the cache off now, entries from an earlier TTL may still be there.
    const done = await this.#guard(
      () => this.#cache.invalidate(id, INVALIDATION_GRACE_SECONDS),
      "invalidate",
      id,
      log,
    );
    if (done === FAILED) {
      if (this.#unconfirmed.size < MAX_UNCONFIRMED) this.#unconfirmed.add(id);
      return false;
    }
    this.#unconfirmed.delete(id);
    return true;
  }

  /**
   * Retries the remembered invalidations in the background, at most once a second, so products
   * nobody reads here are cleaned too once the cache is back (other instances read them from it).
   */
  #retryUnconfirmed(log: EventLog): void {
    if (this.#unconfirmed.size === 0 || Date.now() - this.#lastRetry < 1000) return;
    this.#lastRetry = Date.now();
    const batch = [...this.#unconfirmed].slice(0, 20);
    void Promise.all(batch.map((id) => this.#invalidate(id, log)));
  }

  async #guard<T>(
    call: () => Promise<T>,
    operation: string,
    id: string,
    log: EventLog,
  ): Promise<T | typeof FAILED> {
    try {
      const pending = call();
      if (this.#cacheTimeoutMs <= 0) return await pending;
      // An answer from memory (an in-process tier's hit) has settled already and needs no timer:
      // racing a settled promise against another settled one yields the first.
      const first = await Promise.race([pending, NOT_SETTLED]);
      return first !== PENDING
        ? first as T
        : await withTimeout(pending, this.#cacheTimeoutMs, `cache ${operation}`);
    } catch (err) {
      this.#onCacheError(operation);
      log.warn(
        { product_id: id, operation, error: err instanceof Error ? err.message : String(err) },
        "cache.unavailable",
      );
      return FAILED;
    }
  }
}
