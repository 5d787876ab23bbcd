import type {
  NewProduct,
  Product,
  ProductChanges,
  ProductListQuery,
  ProductPage,
} from "./product.ts";

export interface ProductRepository {
  /** Returns null when the id is taken. */
  create(product: NewProduct & { id: string }, at: string): Promise<Product | null>;
  findById(id: string): Promise<Product | null>;
  list(query: ProductListQuery): Promise<ProductPage>;
  /** Returns null when there is no such product. */
  update(id: string, changes: ProductChanges, at: string): Promise<Product | null>;
  /** Returns false when there was no such product. */
  delete(id: string): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ProductCache {
  get(id: string): Promise<Product | null>;
  set(product: Product, ttlSeconds: number): Promise<void>;
  delete(id: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The slice of a structured logger the use cases need; the request's logger fits it. */
export interface EventLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}
