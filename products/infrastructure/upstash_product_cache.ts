import { Redis } from "@upstash/redis";
import type { ProductCache } from "../domain/ports.ts";
import type { Product } from "../domain/product.ts";

const KEY_PREFIX = "stockroom:products:v1:";
const TOMBSTONE = "invalidated";

export interface UpstashCacheOptions {
  url: string;
  token: string;
  /**
   * Bound on each call, after which it fails and the caller reads the database instead (default
   * 250 ms): a slow cache must never make a read slower than the database would.
   */
  timeoutMs?: number;
  /** Prefix of every key (tests give each run its own). */
  keyPrefix?: string;
}

/**
 * Products cached in Redis over Upstash's REST API, as JSON (every field of Product, the version
 * included). The key prefix stays `v1` when fields are added: instances of the previous release
 * invalidate those keys during a rolling deploy, so a new prefix would let new instances serve
 * what an old one changed. Every call is bounded (`timeoutMs`) and the client's own retries are
 * off: the caller falls back to the database, so retrying here would only add latency.
 */
export class UpstashProductCache implements ProductCache {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: UpstashCacheOptions) {
    const timeoutMs = options.timeoutMs ?? 250;
    this.#prefix = options.keyPrefix ?? KEY_PREFIX;
    this.#redis = new Redis({
      url: options.url,
      token: options.token,
      retry: false,
      // A signal *function* makes the client throw when it fires (a plain signal would make it
      // answer the abort reason as if it were the value), and the abort also closes the
      // connection, so an unresponsive cache does not pile up open requests.
      signal: () => AbortSignal.timeout(timeoutMs),
    });
  }

  async get(id: string) {
    const value = await this.#redis.get<Product | typeof TOMBSTONE>(this.#prefix + id);
    // An entry filled before products had a version (or by an instance that predates it) is a
    // miss: it cannot give the ETag the database would. It is not replaced (fills never
    // overwrite); it expires with its TTL.
    return value && value !== TOMBSTONE && typeof value.version === "number" ? value : null;
  }

  async fill(product: Product, ttlSeconds: number) {
    await this.#redis.set(this.#prefix + product.id, product, { ex: ttlSeconds, nx: true });
  }

  async invalidate(id: string, graceSeconds: number) {
    await this.#redis.set(this.#prefix + id, TOMBSTONE, { ex: graceSeconds });
  }

  async ping() {
    await this.#redis.ping();
  }

  close() {
    return Promise.resolve();
  }
}
