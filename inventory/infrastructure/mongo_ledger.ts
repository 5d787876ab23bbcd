/**
 * The ledger on MongoDB, which has no multi-document transactions here (FerretDB has none; nor has
 * a single-node MongoDB without a replica set). A change writes its movement into the stock
 * document's `pending` list in the same atomic update as the stock itself; the flusher then copies
 * pending movements into `stock_movements` (one document each, `_id` `<ledger>:<sequence>`, so a
 * copy made twice is the same document) and removes them from the list. Whatever a crash leaves
 * pending is copied by the next change's flush, and readers merge it in meanwhile, so the ledger
 * never loses or doubles a movement.
 *
 * Pending movements carry no sequence or running totals: a change cannot know them without
 * reading first (no update pipelines on FerretDB). They are derived from the document: the list is
 * in the order the changes were applied, `sequence` counts every movement, and `quantity` and
 * `reserved` are the totals after the last one.
 *
 * Each pending movement is one string (its JSON): FerretDB 1.x decodes and re-encodes a whole
 * document on every update, field by field, so ten fields a movement made each purchase several
 * times slower than the same list of strings, and shorter strings are cheaper still (measured, 8
 * writers on one product, flushing every 16: 4.7 ms a purchase with fields, 3.6 with named
 * strings, 2.8 with these value lists; 2.3 ms without a ledger).
 */
import type { ChangeIntent, Movement, MovementReason } from "../domain/movement.ts";

export interface PendingMovement {
  /** Tells two pending movements apart for removal (they are removed by value). */
  id: string;
  delta: number;
  reserved_delta: number;
  reason: MovementReason;
  reference: string | null;
  request_id: string;
  idempotency_key: string | null;
  /** The fingerprint of the keyed request, to tell its retry from a reuse of its key. */
  fingerprint: string | null;
  reservation_id: string | null;
  occurred_at: Date;
}

export interface StockDocument {
  product_id: string;
  quantity: number;
  reserved: number;
  last_updated: Date;
  /** Movements made so far, pending ones included: the record's version. */
  sequence: number;
  /** New with each creation, so a deleted record's leftover movements never show again. */
  ledger: string;
  /** JSON of each PendingMovement, in the order applied. */
  pending: string[];
  /** Keys of the latest keyed changes, for the atomic check that a key applies once. */
  ops: string[];
}

/** Which movement a key made: `_id` is `<ledger>:<key>`, so finding it reads the primary key. */
export interface KeyDocument {
  _id: string;
  sequence: number;
  fingerprint: string;
}

export function keyId(ledger: string, key: string): string {
  return `${ledger}:${key}`;
}

export interface MovementDocument extends Omit<PendingMovement, "id"> {
  _id: string;
  product_id: string;
  ledger: string;
  sequence: number;
  quantity: number;
  reserved: number;
}

/**
 * How many recent keys a record remembers for its atomic once-only check. A keyed change decided
 * on an older snapshot of the record than this many changes takes another round (a fresh read).
 * Every change reads and rewrites the whole record on FerretDB, keys included: 32 in place of 64
 * took its CPU per keyed purchase from 5.6 to 4.0 ms and P3k from ~200 to ~255 purchases/s (wrk
 * -t1 -c50, 3 rounds each; 16 gained nothing more).
 */
export const RECENT_KEYS = 32;

export function movementId(ledger: string, sequence: number): string {
  return `${ledger}:${String(sequence).padStart(12, "0")}`;
}

/** The pending movement a change makes. */
export function pendingOf(
  intent: ChangeIntent,
  delta: number,
  reservedDelta: number,
): PendingMovement {
  return {
    // Tells the entry from another one that is otherwise alike (same request, same millisecond).
    id: crypto.randomUUID().slice(0, 8),
    delta,
    reserved_delta: reservedDelta,
    reason: intent.reason,
    reference: intent.reference,
    request_id: intent.requestId,
    idempotency_key: intent.op?.key ?? null,
    fingerprint: intent.op?.fingerprint ?? null,
    reservation_id: intent.reservationId,
    occurred_at: intent.at,
  };
}

/** A pending movement as one short string: its values in a fixed order, no names. */
export function encodePending(e: PendingMovement): string {
  return JSON.stringify([
    e.id,
    e.delta,
    e.reserved_delta,
    e.reason,
    e.reference,
    e.request_id,
    e.idempotency_key,
    e.fingerprint,
    e.reservation_id,
    e.occurred_at.getTime(),
  ]);
}

export function decodePending(text: string): PendingMovement {
  const [
    id,
    delta,
    reservedDelta,
    reason,
    reference,
    requestId,
    key,
    fingerprint,
    reservation,
    at,
  ] = JSON.parse(text);
  return {
    id,
    delta,
    reserved_delta: reservedDelta,
    reason,
    reference,
    request_id: requestId,
    idempotency_key: key,
    fingerprint,
    reservation_id: reservation,
    occurred_at: new Date(at),
  };
}

/** The pending movements of `doc`, numbered and with their totals. */
export function derivePending(doc: StockDocument): MovementDocument[] {
  const out: MovementDocument[] = new Array(doc.pending.length);
  walkPending(doc, 0, (i, movement) => out[i] = movement);
  return out;
}

/** The pending movement at `index` of `doc`; decodes only it and those after it. */
export function pendingAt(doc: StockDocument, index: number): MovementDocument {
  let found: MovementDocument | undefined;
  walkPending(doc, index, (i, movement) => i === index && (found = movement));
  return found!;
}

/**
 * The pending movement `key` made in `doc`, if any. Only entries whose text holds the key are
 * decoded (a purchase's change and its replay check each decoded all ~48 pending entries: 5 % of a
 * keyed purchase's CPU in a profile, P3k).
 */
export function pendingOfKey(doc: StockDocument, key: string): MovementDocument | undefined {
  const quoted = JSON.stringify(key);
  for (let i = doc.pending.length - 1; i >= 0; i--) {
    if (!doc.pending[i]!.includes(quoted)) continue;
    const movement = pendingAt(doc, i);
    if (movement.idempotency_key === key) return movement;
  }
  return undefined;
}

/** Derives the pending movements from the last one back to `from`, with their totals. */
function walkPending(
  doc: StockDocument,
  from: number,
  visit: (index: number, movement: MovementDocument) => void,
): void {
  const k = doc.pending.length;
  let quantity = doc.quantity;
  let reserved = doc.reserved;
  for (let i = k - 1; i >= from; i--) {
    const { id: _, ...entry } = decodePending(doc.pending[i]!);
    const sequence = doc.sequence - (k - 1 - i);
    visit(i, {
      _id: movementId(doc.ledger, sequence),
      product_id: doc.product_id,
      ledger: doc.ledger,
      sequence,
      quantity,
      reserved,
      ...entry,
    });
    quantity -= entry.delta;
    reserved -= entry.reserved_delta;
  }
}

/**
 * A movement as stored: its `_id` and one string, for the reason pending movements are strings
 * (FerretDB's cost per field). Nothing queries a movement's fields: pages are ranges of `_id`.
 */
export interface StoredMovement {
  _id: string;
  m: string;
}

export function storeMovement(doc: MovementDocument): StoredMovement {
  const { _id, ...fields } = doc;
  return { _id, m: JSON.stringify(fields) };
}

export function loadMovement(stored: StoredMovement): MovementDocument {
  const fields = JSON.parse(stored.m) as Omit<MovementDocument, "_id">;
  return { _id: stored._id, ...fields, occurred_at: new Date(fields.occurred_at) };
}

export function toMovement(doc: MovementDocument): Movement {
  return {
    productId: doc.product_id,
    sequence: doc.sequence,
    delta: doc.delta,
    quantity: doc.quantity,
    reservedDelta: doc.reserved_delta,
    reserved: doc.reserved,
    reason: doc.reason,
    reference: doc.reference,
    requestId: doc.request_id,
    idempotencyKey: doc.idempotency_key,
    reservationId: doc.reservation_id,
    occurredAt: doc.occurred_at,
  };
}
