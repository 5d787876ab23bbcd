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
 */
import type { Collection } from "mongodb";
import type { Movement, MovementReason } from "../domain/movement.ts";

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
  pending: PendingMovement[];
  /** Keys of the latest keyed changes, for the atomic check that a key applies once. */
  ops: string[];
}

export interface MovementDocument extends Omit<PendingMovement, "id"> {
  _id: string;
  product_id: string;
  ledger: string;
  sequence: number;
  quantity: number;
  reserved: number;
}

const DUPLICATE_KEY = 11000;

export function movementId(ledger: string, sequence: number): string {
  return `${ledger}:${String(sequence).padStart(12, "0")}`;
}

/** The pending movements of `doc`, numbered and with their totals. */
export function derivePending(doc: StockDocument): MovementDocument[] {
  const k = doc.pending.length;
  let quantity = doc.quantity;
  let reserved = doc.reserved;
  const out: MovementDocument[] = new Array(k);
  for (let i = k - 1; i >= 0; i--) {
    const { id: _, ...entry } = doc.pending[i]!;
    const sequence = doc.sequence - (k - 1 - i);
    out[i] = {
      _id: movementId(doc.ledger, sequence),
      product_id: doc.product_id,
      ledger: doc.ledger,
      sequence,
      quantity,
      reserved,
      ...entry,
    };
    quantity -= entry.delta;
    reserved -= entry.reserved_delta;
  }
  return out;
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

export interface FlusherOptions {
  /** Pending movements that start a flush at once. */
  flushAt?: number;
  /** How long fewer wait for more, so a busy product's movements are copied in batches. */
  delayMs?: number;
  /** Tests turn flushing off to leave movements pending, as a crash would. */
  enabled?: boolean;
}

interface Due {
  doc: StockDocument;
  timer?: ReturnType<typeof setTimeout>;
  running?: Promise<void>;
}

/**
 * Copies pending movements to the movements collection, per product in batches: under a burst on
 * one product, a change costs one document update plus a share of one insert and one update.
 */
export class Flusher {
  readonly #stock: Collection<StockDocument>;
  readonly #movements: Collection<MovementDocument>;
  readonly #flushAt: number;
  readonly #delayMs: number;
  readonly #enabled: boolean;
  /** Per product: the newest document seen, and whether a flush is under way or due. */
  readonly #due = new Map<string, Due>();

  constructor(
    stock: Collection<StockDocument>,
    movements: Collection<MovementDocument>,
    options: FlusherOptions = {},
  ) {
    this.#stock = stock;
    this.#movements = movements;
    this.#flushAt = options.flushAt ?? 16;
    this.#delayMs = options.delayMs ?? 25;
    this.#enabled = options.enabled ?? true;
  }

  /** Told of every document a change returned; flushes now, soon, or when the flush under way ends. */
  saw(doc: StockDocument): void {
    if (!this.#enabled || doc.pending.length === 0) return;
    const due = this.#due.get(doc.product_id);
    if (due && due.doc.sequence >= doc.sequence && due.doc.ledger === doc.ledger) return;
    const entry = due ?? { doc };
    entry.doc = doc;
    this.#due.set(doc.product_id, entry);
    if (!entry.running) this.#schedule(entry);
  }

  #schedule(entry: Due): void {
    const productId = entry.doc.product_id;
    if (entry.doc.pending.length >= this.#flushAt) void this.#run(productId);
    else entry.timer ??= setTimeout(() => void this.#run(productId), this.#delayMs);
  }

  /** Copies the pending movements of `doc` (a fresh read) and removes them from its list. */
  async flush(doc: StockDocument): Promise<void> {
    if (doc.pending.length === 0) return;
    try {
      await this.#movements.insertMany(derivePending(doc), { ordered: false });
    } catch (err) {
      // Copied already by another flush (the same documents): nothing to add.
      const errors = (err as { writeErrors?: { code?: number }[] }).writeErrors;
      const duplicatesOnly = (err as { code?: number }).code === DUPLICATE_KEY ||
        (errors !== undefined && errors.every((e) => e.code === DUPLICATE_KEY));
      if (!duplicatesOnly) throw err;
    }
    await this.#stock.updateOne(
      { product_id: doc.product_id, ledger: doc.ledger },
      { $pullAll: { pending: doc.pending } },
    );
  }

  /** Flushes everything due, until nothing is (shutdown). */
  async drain(): Promise<void> {
    while (this.#due.size > 0) {
      await Promise.allSettled([...this.#due.keys()].map((productId) => this.#run(productId)));
    }
  }

  #run(productId: string): Promise<void> {
    const entry = this.#due.get(productId);
    if (!entry) return Promise.resolve();
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.running) return entry.running;
    const doc = entry.doc;
    entry.running = this.flush(doc).catch(() => {
      // The store is unavailable or overloaded: the movements stay pending, and the next change
      // (or a reader) carries them on. Nothing is lost.
    }).finally(() => {
      entry.running = undefined;
      if (entry.doc === doc) this.#due.delete(productId);
      else this.#schedule(entry);
    });
    return entry.running;
  }
}
