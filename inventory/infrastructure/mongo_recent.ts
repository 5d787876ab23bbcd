import { decide } from "../domain/adjustment.ts";
import type { ChangeIntent } from "../domain/movement.ts";
import type { StockDocument } from "./mongo_ledger.ts";
import { toRecord } from "./mongo_stock_reads.ts";

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

  /**
   * The kept document, if `intent` would apply to it: a change it would refuse (or finds invalid)
   * is decided on a fresh read, since a snapshot is a hint, never grounds for a refusal.
   */
  forChange(productId: string, intent: ChangeIntent): StockDocument | undefined {
    const doc = this.#docs.get(productId);
    try {
      return doc && decide(toRecord(doc), intent).ok ? doc : undefined;
    } catch {
      return undefined;
    }
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
