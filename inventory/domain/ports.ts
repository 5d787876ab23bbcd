import type { AdjustResult } from "./adjustment.ts";
import type { IdempotencyClaim, IdempotentResponse, StoredKey } from "./idempotency.ts";
import type { StockListQuery, StockPage, StockRecord } from "./stock.ts";

export type { AdjustResult, IdempotencyClaim, IdempotentResponse };

export interface StockRepository {
  /** Inserts a new record; throws StockAlreadyExistsError when the product already has one. */
  create(record: StockRecord): Promise<StockRecord>;
  get(productId: string): Promise<StockRecord | null>;
  list(query: StockListQuery): Promise<StockPage>;
  /**
   * `opKey` (the request's Idempotency-Key) is recorded in the same atomic write as the change, so
   * an operation whose answer was lost and is retried is recognised and not applied twice.
   *
   * Adds `delta` (negative buys, positive restocks) in one atomic conditional update: never below 0,
   * never above MAX_QUANTITY, no update lost under any concurrency.
   */
  adjust(productId: string, delta: number, at: Date, opKey?: string): Promise<AdjustResult>;
  /** Sets an absolute quantity atomically; `before` is the value it replaced. */
  set(productId: string, quantity: number, at: Date, opKey?: string): Promise<AdjustResult>;
  /** Returns false when there was no record. */
  delete(productId: string): Promise<boolean>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface IdempotencyStore {
  /**
   * What is stored for `key`, in one read: a replay of a finished key costs this alone. Expired
   * entries may be returned (`expiresAt` says so).
   */
  lookup(key: string): Promise<StoredKey | null>;
  /**
   * Atomically claims `key` for a request with `fingerprint` (hash of method, path and body).
   * Exactly one concurrent caller gets "claimed"; the others see "in_progress", or "completed" with
   * the stored response once it is saved, or "mismatch" when the key was used with another body.
   */
  claim(key: string, fingerprint: string, ttlMs: number): Promise<IdempotencyClaim>;
  complete(key: string, response: IdempotentResponse, ttlMs: number): Promise<void>;
  /** Releases a claim whose request failed without a stored answer, so a retry can run. */
  release(key: string): Promise<void>;
}

export interface CatalogProduct {
  id: string;
  /** The products service's resource object, as served, for `include=product`. */
  resource: Record<string, unknown>;
}

export interface ProductCatalog {
  /** null when products answers 404; throws DependencyUnavailableError after the retry budget. */
  find(productId: string, requestId: string): Promise<CatalogProduct | null>;
  /** Throws when the products service does not answer its liveness probe. */
  ping(): Promise<void>;
}
