import type {
  ExpectedVersions,
  NewProduct,
  Product,
  ProductChanges,
  ProductListQuery,
  ProductPage,
  VersionMismatch,
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
  /**
   * Applies the changes, stamps `at` and increments the version, all in one statement; with
   * `expected`, only while the product is at one of those versions (checked in that statement).
   * With no changes nothing is written: the product as stored, subject to `expected` alike.
   * Returns null when there is no such product, a VersionMismatch when `expected` did not match.
   */
  update(
    id: string,
    changes: ProductChanges,
    at: string,
    expected?: ExpectedVersions,
  ): Promise<Product | VersionMismatch | null>;
  /**
   * Returns false when there was no such product; with `expected`, deletes only while the product
   * is at one of those versions (checked in the delete itself), else a VersionMismatch.
   */
  delete(id: string, expected?: ExpectedVersions): Promise<boolean | VersionMismatch>;
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
