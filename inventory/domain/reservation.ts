/**
 * Reservations (carts): units of several products held together, then committed (sold),
 * released, or expired. A reservation is applied line by line as keyed stock changes, steered by
 * its own record: a store with no multi-document transaction (MongoDB here) still ends every cart
 * held entirely or not at all (see application/reservation_service.ts).
 *
 * Stored states. `pending` while its lines are being held (nobody has been answered yet);
 * `held`; `committing`, `releasing` and `expiring` once that end is decided and while its lines
 * are being changed; `committed`, `released`, `expired` at the end; `failed` when a cart was
 * refused or rolled back (it never existed for a client). A state in motion has a lease: when it
 * runs out, the sweeper finishes what its owner started (or, for `pending`, undoes it).
 */
import type { MovementReason } from "./movement.ts";

export const STORED_STATUSES = [
  "pending",
  "held",
  "committing",
  "releasing",
  "expiring",
  "committed",
  "released",
  "expired",
  "failed",
] as const;
export type StoredStatus = typeof STORED_STATUSES[number];

/** What a client reads. */
export const RESERVATION_STATUSES = ["held", "committed", "released", "expired"] as const;
export type ReservationStatus = typeof RESERVATION_STATUSES[number];

/** The ends a client may ask for (`expired` is the sweeper's). */
export type ClosingStatus = "committed" | "released";
export type Ending = ClosingStatus | "expired";

export const MAX_LINES = 100;
export const MAX_TTL_SECONDS = 86_400;
export const DEFAULT_TTL_SECONDS = 900;
/**
 * How long a state in motion belongs to the instance that started it. Every store call is bounded
 * (the store aborts it at 4 s, the client gives up at 5 s), and an owner sends no line change
 * whose bound would end after its lease, so none can land after the lease ran out.
 */
export const LEASE_MS = 10_000;
/** The longest a line change may take; an owner needs this much lease left to send one. */
export const STORE_CALL_BOUND_MS = 5_000;

export interface ReservationLine {
  readonly productId: string;
  readonly quantity: number;
}

export interface Reservation {
  readonly id: string;
  readonly status: StoredStatus;
  /** Merged (one per product) and ordered by product id: the order lines are applied in. */
  readonly lines: readonly ReservationLine[];
  readonly reference: string | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly updatedAt: Date;
  /** Counts the record's writes: its ETag, and what every change is conditional on. */
  readonly version: number;
  /** While a state is in motion: until when it belongs to its owner. */
  readonly leaseUntil: Date | null;
  /** Which attempt holds the lines: a keyed cart rolled back and tried again gets a new one. */
  readonly attempt: number;
  readonly requestId: string;
  /** The creating request's Idempotency-Key and fingerprint. */
  readonly op: { key: string; fingerprint: string } | null;
}

/** A line as the client sent it, with its index in the request. */
export interface RequestedLine extends ReservationLine {
  readonly index: number;
}

/**
 * Lines for the same product summed, ordered by product id (a fixed order, so carts over the same
 * products change them in the same order); each keeps the index of its product's first line.
 */
export function mergeLines(lines: readonly ReservationLine[]): RequestedLine[] {
  const merged = new Map<string, RequestedLine>();
  lines.forEach((line, index) => {
    const seen = merged.get(line.productId);
    merged.set(
      line.productId,
      seen ? { ...seen, quantity: seen.quantity + line.quantity } : { ...line, index },
    );
  });
  return [...merged.values()].sort((a, b) => a.productId < b.productId ? -1 : 1);
}

/** What a client reads at `now`: a held reservation past its expiry reads as expired at once. */
export function visibleStatus(r: Reservation, now: Date): ReservationStatus | null {
  switch (r.status) {
    case "pending":
    case "failed":
      return null;
    case "held":
      return r.expiresAt.getTime() <= now.getTime() ? "expired" : "held";
    case "committing":
    case "committed":
      return "committed";
    case "releasing":
    case "released":
      return "released";
    case "expiring":
    case "expired":
      return "expired";
  }
}

/** The state a change towards `ending` passes through. */
export function motionOf(ending: Ending): StoredStatus {
  return ending === "committed" ? "committing" : ending === "released" ? "releasing" : "expiring";
}

/** The end a state in motion is going to (`pending` ends held, or failed when undone). */
export function endingOf(status: StoredStatus): Ending | null {
  return status === "committing"
    ? "committed"
    : status === "releasing"
    ? "released"
    : status === "expiring"
    ? "expired"
    : null;
}

export type ClosingDecision =
  /** Nothing to do: the reservation has this status already. */
  | { kind: "noop" }
  /** Start the change (from held), or help finish it (already in motion towards this end). */
  | { kind: "start" }
  | { kind: "help" }
  | { kind: "closed"; status: ReservationStatus }
  | { kind: "expired" };

/** Whether a client's `status` change applies to `r` at `now`, and how. */
export function decideClosing(r: Reservation, to: ClosingStatus, now: Date): ClosingDecision {
  const seen = visibleStatus(r, now);
  if (seen === to) return endingOf(r.status) === to ? { kind: "help" } : { kind: "noop" };
  if (seen === "held") return { kind: "start" };
  // Committing an expired reservation says so; any other move out of an end is "closed".
  if (seen === "expired" && to === "committed") return { kind: "expired" };
  return { kind: "closed", status: seen ?? "expired" };
}

/** How one line's stock changes at a step of a reservation. */
export interface LineStep {
  readonly delta: number;
  readonly reservedDelta: number;
  readonly reason: MovementReason;
  /** The key the line's change is made under: each step applies at most once per product. */
  readonly key: string;
}

export function holdStep(r: Pick<Reservation, "id" | "attempt">, line: ReservationLine): LineStep {
  return {
    delta: -line.quantity,
    reservedDelta: line.quantity,
    reason: "reservation_hold",
    key: `reservation:${r.id}:${r.attempt}:hold`,
  };
}

/** Gives a line's held units back when its cart is refused or rolled back. */
export function undoStep(r: Pick<Reservation, "id" | "attempt">, line: ReservationLine): LineStep {
  return {
    delta: line.quantity,
    reservedDelta: -line.quantity,
    reason: "reservation_release",
    key: `reservation:${r.id}:${r.attempt}:undo`,
  };
}

export function endingStep(r: Pick<Reservation, "id">, line: ReservationLine, ending: Ending) {
  const sold = ending === "committed";
  return {
    delta: sold ? 0 : line.quantity,
    reservedDelta: -line.quantity,
    reason: sold
      ? "reservation_commit"
      : ending === "released"
      ? "reservation_release"
      : "reservation_expire",
    key: `reservation:${r.id}:${ending}`,
  } satisfies LineStep;
}

/** The fingerprint of a line's keyed change: the same step of the same line, nothing else. */
export function lineFingerprint(step: LineStep, line: ReservationLine): string {
  return `${step.key}:${line.productId}:${line.quantity}`;
}

/** Whether `r`'s owner may still send a store call that must land within its lease. */
export function leaseAllowsCall(r: Pick<Reservation, "leaseUntil">, now: Date): boolean {
  return r.leaseUntil !== null && now.getTime() + STORE_CALL_BOUND_MS <= r.leaseUntil.getTime();
}

/** What the sweeper must do with `r` at `now`, if anything. */
export function dueWork(r: Reservation, now: Date): "expire" | "finish" | "undo" | null {
  const t = now.getTime();
  const leaseOut = r.leaseUntil === null || r.leaseUntil.getTime() <= t;
  if (r.status === "held") return r.expiresAt.getTime() <= t ? "expire" : null;
  if (r.status === "pending") return leaseOut ? "undo" : null;
  if (endingOf(r.status) !== null) return leaseOut ? "finish" : null;
  return null;
}

export interface ReservationListQuery {
  offset: number;
  limit: number;
  status?: ReservationStatus;
  productId?: string;
  /** What "held" and "expired" mean depends on the time. */
  now: Date;
}

export interface ReservationPage {
  items: Reservation[];
  total: number;
}

/** Whether `r` belongs in a list asked for with `query` (what each adapter's query restates). */
export function listed(r: Reservation, query: ReservationListQuery): boolean {
  const seen = visibleStatus(r, query.now);
  if (seen === null) return false;
  if (query.status !== undefined && seen !== query.status) return false;
  return query.productId === undefined || r.lines.some((l) => l.productId === query.productId);
}

/** The stored states a client status is read from. */
export function storedStatusesOf(status: ReservationStatus): StoredStatus[] {
  switch (status) {
    case "held":
      return ["held"];
    case "committed":
      return ["committing", "committed"];
    case "released":
      return ["releasing", "released"];
    case "expired":
      return ["expiring", "expired", "held"];
  }
}

/**
 * When the sweeper has work on `r` (what a store indexes `due` by): its expiry while held, its
 * lease while in motion, never once it ended.
 */
export function dueAt(r: Reservation): Date | null {
  if (r.status === "held") return r.expiresAt;
  if (r.status === "pending" || endingOf(r.status) !== null) return r.leaseUntil ?? r.updatedAt;
  return null;
}

/** The order lists are given in: oldest first, ties by id. */
export function byCreation(a: Reservation, b: Reservation): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
