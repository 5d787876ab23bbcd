import { Redis } from "@upstash/redis";
import type { ProductCache } from "../domain/ports.ts";
import type { Product } from "../domain/product.ts";

const KEY_PREFIX = "stockroom:products:v1:";
const TOMBSTONE = "invalidated";

export interface UpstashCacheOptions {
  url: string;
  token: string;
}

/**
 * Products cached in Redis over Upstash's REST API. The client's own retries are off: the service
 * bounds every cache call and falls back to the database, so retrying here would only add latency.
 */
export class UpstashProductCache implements ProductCache {
  readonly #redis: Redis;

  constructor(options: UpstashCacheOptions) {
    this.#redis = new Redis({
      url: options.url,
      token: options.token,
      retry: false,
      // Abort calls the service has already given up on, so an unresponsive cache does not pile
      // up open connections.
      signal: () => AbortSignal.timeout(1000),
    });
  }

  async get(id: string) {
    const value = await this.#redis.get<Product | typeof TOMBSTONE>(KEY_PREFIX + id);
    return value && value !== TOMBSTONE ? value : null;
  }

  async fill(product: Product, ttlSeconds: number) {
    await this.#redis.set(KEY_PREFIX + product.id, product, { ex: ttlSeconds, nx: true });
  }

  async invalidate(id: string, graceSeconds: number) {
    await this.#redis.set(KEY_PREFIX + id, TOMBSTONE, { ex: graceSeconds });
  }

  async ping() {
    await this.#redis.ping();
  }

  close() {
    return Promise.resolve();
  }
}
