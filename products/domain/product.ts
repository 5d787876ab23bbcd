import { DomainError } from "@stockroom/kernel";

/** A product as stored; never changed once made (a change makes a new one). */
export interface Product {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** Exact to the cent; at most 99 999 999.99 (NUMERIC(10,2)). */
  readonly price: number;
  /** ISO 8601 UTC, millisecond precision. */
  readonly createdAt: string;
  readonly updatedAt: string;
  /**
   * 1 when created, one more with every change (two changes can share a millisecond, so
   * `updatedAt` cannot tell them apart): what a conditional change names, and what the API's
   * `ETag` is made of.
   */
  readonly version: number;
}

export type NewProduct = Pick<Product, "name" | "description" | "price"> & { id?: string };
export type ProductChanges = Partial<Pick<Product, "name" | "description" | "price">>;

export const NAME_MAX = 255;
export const DESCRIPTION_MAX = 10_000;
export const PRICE_MAX = 99_999_999.99;

/** True when NUMERIC(10,2) stores `price` unchanged: at most two decimals. */
export function hasAtMostTwoDecimals(price: number): boolean {
  return Math.round(price * 100) / 100 === price;
}

/**
 * Text PostgreSQL can store as given: well-formed UTF-16 (no lone surrogates) and no NUL, which
 * `text` columns reject.
 */
export function isStorableText(text: string): boolean {
  return text.isWellFormed() && !text.includes("\u0000");
}

/** Length in Unicode code points, the unit of VARCHAR(n). */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export { isUuid } from "@stockroom/kernel";

export type ProductSortField = "name" | "price" | "created_at" | "updated_at";

export interface ProductListQuery {
  offset: number;
  limit: number;
  /** Applied in order; ties are broken by id so pages never overlap. */
  sort: { field: ProductSortField; descending: boolean }[];
  nameContains?: string;
  minPrice?: number;
  maxPrice?: number;
}

export interface ProductPage {
  items: Product[];
  total: number;
}

/**
 * The versions a conditional change accepts (the client's `If-Match`): it applies only while the
 * product is at one of them, checked by the store in the write itself. Undefined: any version.
 */
export type ExpectedVersions = readonly number[];

/** A conditional change the store refused, because the product is at another version. */
export class VersionMismatch {
  constructor(readonly currentVersion: number) {}
}

export class ProductNotFoundError extends DomainError {
  constructor(id: string) {
    super("not_found", "product_not_found", `Product ${id} not found`);
  }
}

export class ProductAlreadyExistsError extends DomainError {
  constructor(id: string) {
    super("conflict", "product_exists", `A product with id ${id} already exists`);
  }
}

/** A conditional change refused, nothing changed: the product is at `currentVersion`. */
export class ProductPreconditionFailedError extends DomainError {
  constructor(id: string, readonly currentVersion: number) {
    super(
      "precondition_failed",
      "precondition_failed",
      `Product ${id} is at another version than the change expects; nothing was changed`,
    );
  }
}
