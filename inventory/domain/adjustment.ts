/** The stock decisions every store adapter applies: it translates them, never restates them. */
import { QuantityLimitError } from "./errors.ts";
import { MAX_QUANTITY, type StockRecord } from "./stock.ts";

/** Result of an atomic adjustment: the record before and after, or why nothing changed. */
export type AdjustResult =
  /** `replayed`: the operation key was applied before, so nothing changed now. */
  | { ok: true; before: StockRecord; after: StockRecord; replayed?: boolean }
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "insufficient_stock"; available: number };

/**
 * The quantities a record may hold for adding `delta` to be allowed: the result stays within 0 and
 * MAX_QUANTITY. A store applies the change only if the current quantity is in this range, in the
 * same atomic step as the write.
 */
export function adjustableRange(delta: number): { min: number; max: number } {
  return { min: Math.max(0, -delta), max: MAX_QUANTITY - Math.max(0, delta) };
}

/**
 * Why adding `delta` to `current` (outside `adjustableRange`) was refused: a purchase larger than
 * the stock is an answer, a restock past MAX_QUANTITY an error.
 */
export function refusal(productId: string, current: number, delta: number): AdjustResult {
  if (current + delta > MAX_QUANTITY) throw new QuantityLimitError(productId, current, delta);
  return { ok: false, reason: "insufficient_stock", available: current };
}

/** What a retry of an operation the store had already applied returns: the present record. */
export function replayOf(current: StockRecord): AdjustResult {
  return { ok: true, before: current, after: current, replayed: true };
}
