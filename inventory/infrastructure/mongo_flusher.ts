/** Copies a record's pending movements to the movements collection (see mongo_ledger.ts). */
import type { Collection } from "mongodb";
import {
  derivePending,
  type KeyDocument,
  keyId,
  RECENT_KEYS,
  type StockDocument,
  type StoredMovement,
  storeMovement,
} from "./mongo_ledger.ts";
import { insertKeepingFirst } from "./mongo_inserts.ts";

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
  readonly #movements: Collection<StoredMovement>;
  readonly #keys: Collection<KeyDocument>;
  readonly #flushAt: number;
  readonly #delayMs: number;
  readonly #enabled: boolean;
  /** Per product: the newest document seen, and whether a flush is under way or due. */
  readonly #due = new Map<string, Due>();

  constructor(
    stock: Collection<StockDocument>,
    movements: Collection<StoredMovement>,
    keys: Collection<KeyDocument>,
    options: FlusherOptions = {},
  ) {
    this.#stock = stock;
    this.#movements = movements;
    this.#keys = keys;
    // Larger batches cost fewer writes; the record grows by ~110 bytes a pending movement
    // (8 writers on one product: 370 purchases/s flushing at 16, 425 at 48, 439 at 64).
    this.#flushAt = options.flushAt ?? 48;
    this.#delayMs = options.delayMs ?? 25;
    this.#enabled = options.enabled ?? true;
  }

  /** Told of every document a change returned; flushes now, soon, or when the flush under way ends. */
  saw(doc: StockDocument): void {
    if (!this.#enabled || (doc.pending.length === 0 && doc.ops.length <= RECENT_KEYS)) return;
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
    if (doc.pending.length === 0 && doc.ops.length <= RECENT_KEYS) return;
    if (doc.pending.length > 0) await this.#copy(doc);
    // Removed by value, so changes made since the read stay. The keys the record remembers are
    // trimmed here too: FerretDB 1.24 ignores `$slice` on `$push`, so without this they would
    // pile up (each key's movement is in the collection by now, where a retry finds it).
    const stale = doc.ops.slice(0, Math.max(0, doc.ops.length - RECENT_KEYS));
    await this.#stock.updateOne(
      { product_id: doc.product_id, ledger: doc.ledger },
      { $pullAll: { pending: doc.pending, ...(stale.length > 0 ? { ops: stale } : {}) } },
    );
  }

  async #copy(doc: StockDocument): Promise<void> {
    const movements = derivePending(doc);
    const keys = movements.filter((m) => m.idempotency_key !== null).map((m): KeyDocument => ({
      _id: keyId(doc.ledger, m.idempotency_key!),
      sequence: m.sequence,
      fingerprint: m.fingerprint ?? "",
    }));
    // A document copied already by another flush is the same document: it stays.
    await insertKeepingFirst(this.#movements, movements.map(storeMovement));
    if (keys.length > 0) await insertKeepingFirst(this.#keys, keys);
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
