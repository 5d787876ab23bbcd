/**
 * One stock record per product: the resource id is the product id. `quantity` is what can be sold;
 * `reserved` is held by reservations. `sequence` counts the record's movements (its ledger), so it
 * is also its version: every change of state adds one.
 */
export interface StockRecord {
  readonly productId: string;
  /** Always an integer ≥ 0. */
  readonly quantity: number;
  /** Units held by reservations; always an integer ≥ 0. */
  readonly reserved: number;
  readonly lastUpdated: Date;
  readonly sequence: number;
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

/** Guards the adapters share: the API validates first, so these fire only on a programming error. */
export function assertQuantity(quantity: number): void {
  if (!Number.isInteger(quantity) || quantity < 0 || quantity > MAX_QUANTITY) {
    throw new RangeError(`Quantity must be an integer from 0 to ${MAX_QUANTITY}: ${quantity}`);
  }
}

export function assertDate(at: Date): void {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
    throw new RangeError(`Timestamp must be a valid Date: ${at}`);
  }
}
