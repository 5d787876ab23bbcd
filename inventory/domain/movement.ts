/** The stock ledger: one movement per applied change of a stock record, numbered 1, 2, 3, … */
import type { StockRecord } from "./stock.ts";

export const MOVEMENT_REASONS = [
  "initial",
  "purchase",
  "restock",
  "return",
  "correction",
  "damage",
  "loss",
  "reservation_hold",
  "reservation_commit",
  "reservation_release",
  "reservation_expire",
] as const;
export type MovementReason = typeof MOVEMENT_REASONS[number];

/** The reasons a client may give a change of its own (`PATCH /inventory/{id}`). */
export const ADJUSTMENT_REASONS = [
  "purchase",
  "restock",
  "return",
  "correction",
  "damage",
  "loss",
] as const satisfies readonly MovementReason[];
export type AdjustmentReason = typeof ADJUSTMENT_REASONS[number];

/** Longest client `reference` (an order or RMA number). */
export const REFERENCE_MAX = 255;

export interface Movement {
  readonly productId: string;
  /** 1, 2, 3, … per record, with no gaps, in the order the changes were applied. */
  readonly sequence: number;
  /** Change in `quantity`. */
  readonly delta: number;
  /** `quantity` after the change. */
  readonly quantity: number;
  readonly reservedDelta: number;
  readonly reserved: number;
  readonly reason: MovementReason;
  readonly reference: string | null;
  readonly requestId: string;
  readonly idempotencyKey: string | null;
  readonly reservationId: string | null;
  readonly occurredAt: Date;
}

/** What one request changes, before a store applies it. */
export type StockChange =
  /** Adds `delta` to `quantity` (negative buys) and `reservedDelta` (default 0) to `reserved`. */
  | { kind: "adjust"; delta: number; reservedDelta?: number }
  /** Sets `quantity` (an inventory count). */
  | { kind: "set"; quantity: number };

/** Everything a store needs to apply a change and write its movement, atomically. */
export interface ChangeIntent {
  readonly change: StockChange;
  readonly reason: MovementReason;
  readonly reference: string | null;
  readonly requestId: string;
  readonly reservationId: string | null;
  readonly at: Date;
  /**
   * The request's Idempotency-Key and a fingerprint of the request: a change already applied under
   * this key is answered from its movement, never applied again.
   */
  readonly op?: { key: string; fingerprint: string };
  /** `If-Match`: the change applies only while the record is at this sequence. */
  readonly expectedSequence?: number;
}

/** The reason a change gets when the client names none. */
export function defaultReason(change: StockChange): AdjustmentReason {
  if (change.kind === "set") return "correction";
  return change.delta < 0 ? "purchase" : "restock";
}

/** The record as it was right after `movement`: what the change's answer shows, also on replay. */
export function recordAfter(movement: Movement): StockRecord {
  return {
    productId: movement.productId,
    quantity: movement.quantity,
    reserved: movement.reserved,
    lastUpdated: movement.occurredAt,
    sequence: movement.sequence,
  };
}

/**
 * The movement a change makes of a record in state `before` (sequence 0 for a new record): the
 * one rule every adapter applies to number movements and carry quantities forward.
 */
export function nextMovement(
  before: { quantity: number; reserved: number; sequence: number },
  productId: string,
  intent: ChangeIntent,
): Movement {
  const delta = intent.change.kind === "set"
    ? intent.change.quantity - before.quantity
    : intent.change.delta;
  const reservedDelta = intent.change.kind === "set" ? 0 : intent.change.reservedDelta ?? 0;
  return {
    productId,
    sequence: before.sequence + 1,
    delta,
    quantity: before.quantity + delta,
    reservedDelta,
    reserved: before.reserved + reservedDelta,
    reason: intent.reason,
    reference: intent.reference,
    requestId: intent.requestId,
    idempotencyKey: intent.op?.key ?? null,
    reservationId: intent.reservationId,
    occurredAt: intent.at,
  };
}
