import type {
  NewProduct,
  Product,
  ProductChanges,
  ProductListQuery,
  ProductPage,
} from "./product.ts";

/** A product as read, and whether a cache in front of the store answered (`X-Cache`). */
export interface ProductRead {
  product: Product;
  cached: boolean;
}

export interface ProductRepository {
  /** Returns null when the id is taken. */
  create(product: NewProduct & { id: string }, at: string): Promise<Product | null>;
  read(id: string): Promise<ProductRead | null>;
  list(query: ProductListQuery): Promise<ProductPage>;
  /** Returns null when there is no such product. */
  update(id: string, changes: ProductChanges, at: string): Promise<Product | null>;
  /** Returns false when there was no such product. */
  delete(id: string): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A read-through cache that cannot be refilled with a stale read: `invalidate` leaves a short-lived
 * tombstone and `fill` writes only where there is nothing, so a read that began before a change
 * and finishes after its invalidation cannot put the old product back.
 */
export interface ProductCache {
  /** The cached product, or null on a miss or a tombstone. */
  get(id: string): Promise<Product | null>;
  /** Stores the product unless the key holds anything (an entry or a tombstone). */
  fill(product: Product, ttlSeconds: number): Promise<void>;
  /** Replaces the entry with a tombstone that blocks fills for `graceSeconds`. */
  invalidate(id: string, graceSeconds: number): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
