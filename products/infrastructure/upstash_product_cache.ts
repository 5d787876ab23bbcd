import { Redis } from "@upstash/redis";
import type { ProductCache } from "../domain/ports.ts";
import type { Product } from "../domain/product.ts";

const KEY_PREFIX = "stockroom:products:v1:";

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
    this.#redis = new Redis({ url: options.url, token: options.token, retry: false });
  }

  async get(id: string) {
    return await this.#redis.get<Product>(KEY_PREFIX + id);
  }

  async set(product: Product, ttlSeconds: number) {
    await this.#redis.set(KEY_PREFIX + product.id, product, { ex: ttlSeconds });
  }

  async delete(id: string) {
    await this.#redis.del(KEY_PREFIX + id);
  }

  async ping() {
    await this.#redis.ping();
  }

  close() {
    return Promise.resolve();
  }
}
