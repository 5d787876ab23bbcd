/** The stock decisions every store adapter applies: it translates them, never restates them. */
import { QuantityLimitError } from "./errors.ts";
import { type ChangeIntent, type Movement, nextMovement, recordAfter } from "./movement.ts";
import { MAX_QUANTITY, type StockRecord } from "./stock.ts";

/** What a change came to: applied (now or, under the same key, before), or why not. */
export type ChangeResult =
  /**
   * `record` is the state right after `movement`. `replayed`: the request's key was applied before
   * (the answer was lost), so nothing changed now and the first answer is given again.
   */
  | { ok: true; record: StockRecord; movement: Movement; replayed: boolean }
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "insufficient_stock"; available: number }
  /** `If-Match` named another version: `current` says which. */
  | { ok: false; reason: "precondition_failed"; current: StockRecord }
  /** The key was applied before to another request (another body or product). */
  | { ok: false; reason: "key_reused" };

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
export function refusal(productId: string, current: number, delta: number): ChangeResult {
  if (current + delta > MAX_QUANTITY) throw new QuantityLimitError(productId, current, delta);
  return { ok: false, reason: "insufficient_stock", available: current };
}

/**
 * Whether a record at `sequence` meets the request's `If-Match` (none given: always), decided
 * before anything is written and checked again by the store in the write itself.
 */
export function meetsPrecondition(
  intent: Pick<ChangeIntent, "expectedSequence">,
  sequence: number,
) {
  return intent.expectedSequence === undefined || intent.expectedSequence === sequence;
}

/**
 * What a store answers when the request's key was applied before with `movement`: the first
 * answer again when it is the same request, a refusal when the key came with another one.
 */
export function replayOf(
  movement: Movement,
  applied: { fingerprint: string },
  intent: Pick<ChangeIntent, "op">,
): ChangeResult {
  if (applied.fingerprint !== intent.op?.fingerprint) return { ok: false, reason: "key_reused" };
  return { ok: true, record: recordAfter(movement), movement, replayed: true };
}

/**
 * Whether `intent` applies to a record in state `before`, and the movement it makes if so: the
 * whole decision, for a store that reads, decides and then writes only if nothing changed since.
 */
export function decide(
  before: StockRecord,
  intent: ChangeIntent,
): { ok: true; movement: Movement } | Exclude<ChangeResult, { ok: true }> {
  if (!meetsPrecondition(intent, before.sequence)) {
    return { ok: false, reason: "precondition_failed", current: before };
  }
  const { change } = intent;
  if (change.kind === "adjust") {
    const range = adjustableRange(change.delta);
    if (before.quantity < range.min || before.quantity > range.max) {
      return refusal(before.productId, before.quantity, change.delta) as Exclude<
        ChangeResult,
        { ok: true }
      >;
    }
    if (before.reserved + (change.reservedDelta ?? 0) < 0) {
      throw new RangeError(`Reserved units would go below zero: ${before.productId}`);
    }
  }
  return { ok: true, movement: nextMovement(before, before.productId, intent) };
}
