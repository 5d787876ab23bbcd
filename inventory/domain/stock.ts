/** One stock record per product: the resource id is the product id. */
export interface StockRecord {
  productId: string;
  /** Always an integer ≥ 0. */
  quantity: number;
  lastUpdated: Date;
}

export type StockSortField = "quantity" | "last_updated";

export interface StockListQuery {
  offset: number;
  limit: number;
  /** Ascending unless `descending`; ties broken by product id so pages are stable. */
  sort: { field: StockSortField; descending: boolean };
  /** Low-stock filter: only records with quantity ≤ this. */
  maxQuantity?: number;
}

export interface StockPage {
  items: StockRecord[];
  total: number;
}

/** The largest quantity a record may hold; keeps every value an exact integer in every store. */
export const MAX_QUANTITY = 1_000_000_000;
