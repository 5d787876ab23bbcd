import type { StockDocument } from "./mongo_ledger.ts";

/**
 * The newest stock document this instance has seen per product (read, or returned by its own
 * update), for the few hundred products most recently changed. A keyed purchase uses it in place
 * of a fresh read (see `once` in mongo_stock_repository.ts for why any earlier snapshot is sound).
 */
export class RecentDocuments {
  readonly #docs = new Map<string, StockDocument>();
  readonly #max: number;

  constructor(max = 256) {
    this.#max = max;
  }

  get(productId: string): StockDocument | undefined {
    return this.#docs.get(productId);
  }

  /** Keeps `doc` unless a later version of the same ledger is kept already. */
  saw(doc: StockDocument): void {
    const kept = this.#docs.get(doc.product_id);
    if (kept && kept.ledger === doc.ledger && kept.sequence >= doc.sequence) return;
    // Re-inserted, so the map's order is least recently changed first.
    this.#docs.delete(doc.product_id);
    this.#docs.set(doc.product_id, doc);
    if (this.#docs.size > this.#max) this.#docs.delete(this.#docs.keys().next().value!);
  }

  forget(productId: string): void {
    this.#docs.delete(productId);
  }
}
