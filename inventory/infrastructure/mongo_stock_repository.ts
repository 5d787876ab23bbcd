import type { Filter, MongoClient } from "mongodb";
import {
  adjustableRange,
  type ChangeResult,
  decide,
  meetsPrecondition,
  replayOf,
} from "../domain/adjustment.ts";
import { StockAlreadyExistsError } from "../domain/errors.ts";
import { type ChangeIntent, nextMovement } from "../domain/movement.ts";
import type { DeleteResult, StockRepository } from "../domain/ports.ts";
import { assertDate, assertQuantity } from "../domain/stock.ts";
import { MAX_TIME_MS } from "./mongo_failures.ts";
import { isDuplicateKey } from "./mongo_inserts.ts";
import {
  derivePending,
  encodePending,
  type KeyDocument,
  keyId,
  loadMovement,
  movementId,
  pendingAt,
  pendingOf,
  pendingOfKey,
  RECENT_KEYS,
  type StockDocument,
  type StoredMovement,
  toMovement,
} from "./mongo_ledger.ts";
import { Flusher, type FlusherOptions } from "./mongo_flusher.ts";
import { RecentDocuments } from "./mongo_recent.ts";
import { adoptLegacyRecords, listStock, toRecord } from "./mongo_stock_reads.ts";

/** Every operation carries the server-side limit, so MongoDB aborts one that runs too long. */
const LIMIT = { maxTimeMS: MAX_TIME_MS } as const;

export interface MongoStockRepositoryOptions {
  /** Whether close() closes the client; false when something else still uses it. */
  closeClient?: boolean;
  /** Rounds of a change that lost to a concurrent one before giving up. */
  maxAttempts?: number;
  ledger?: FlusherOptions;
}

/**
 * Stock in MongoDB: each change is one atomic document update that checks the stock, `If-Match`
 * and the request's key in its filter and writes the movement into the same document (see
 * mongo_ledger.ts for how the ledger is kept without transactions). Give the client a short
 * `serverSelectionTimeoutMS` so an outage fails requests quickly.
 */
export async function createMongoStockRepository(
  client: MongoClient,
  dbName: string,
  options: MongoStockRepositoryOptions = {},
): Promise<StockRepository> {
  const db = client.db(dbName);
  const stock = db.collection<StockDocument>("inventory");
  const movements = db.collection<StoredMovement>("stock_movements");
  const keys = db.collection<KeyDocument>("stock_movement_keys");
  // One call per index: FerretDB 1.24 drops the connection when a multi-index createIndexes
  // meets indexes that already exist, i.e. on every start after the first.
  await stock.createIndex({ product_id: 1 }, { name: "product_id_unique", unique: true });
  await stock.createIndex({ quantity: 1, product_id: 1 }, { name: "quantity_product_id" });
  await stock.createIndex({ last_updated: 1, product_id: 1 }, { name: "last_updated_product_id" });
  // A page of a ledger is a range of _id, and a key's movement is found by its _id: no index more.
  await adoptLegacyRecords(stock);
  const flusher = new Flusher(stock, movements, keys, options.ledger);
  const recent = new RecentDocuments();
  const closeClient = options.closeClient ?? true;
  const maxAttempts = options.maxAttempts ?? 20;

  /** The movement the request's key made in this record, if it made one. */
  async function applied(doc: StockDocument, intent: ChangeIntent): Promise<ChangeResult | null> {
    const key = intent.op?.key;
    if (key === undefined) return null;
    let found = pendingOfKey(doc, key);
    if (!found) {
      // Copied out of the list already: its key document names it, in this record's ledger.
      const copied = await keys.findOne({ _id: keyId(doc.ledger, key) }, LIMIT);
      const stored = copied &&
        await movements.findOne({ _id: movementId(doc.ledger, copied.sequence) }, LIMIT);
      found = stored ? loadMovement(stored) : undefined;
    }
    return found
      ? replayOf(toMovement(found), { fingerprint: found.fingerprint ?? "" }, intent)
      : null;
  }

  /** The movement this change wrote (`entry`), found in the document the update returned. */
  function written(after: StockDocument, entry: string): ChangeResult {
    flusher.saw(after);
    recent.saw(after);
    const movement = pendingAt(after, after.pending.indexOf(entry));
    return { ok: true, record: toRecord(after), movement: toMovement(movement), replayed: false };
  }

  /**
   * One round of a change: the decision restated as the filter of one atomic update, so it
   * applies only if it still holds. A plain adjustment goes straight to the update (its stock
   * check is the filter); a keyed change or an absolute count reads first. `undefined`: another
   * change came between, so decide again (from a fresh read).
   *
   * A keyed adjustment's first round reads nothing when this instance has seen the record before:
   * the key check needs a snapshot of the record taken before the key documents are read, and
   * any earlier one will do. A key applied before the snapshot is pending in it or was copied
   * (key document written) before it; one applied after it is among the record's recent keys as
   * long as fewer than RECENT_KEYS changes came since, which the update's filter demands. The
   * snapshot decides nothing else (the filter checks the stock, and a replay or a refusal is
   * decided on a fresh read); if the update does not match, the next round reads.
   */
  async function once(
    productId: string,
    intent: ChangeIntent,
    round: number,
  ): Promise<ChangeResult | undefined> {
    const { change } = intent;
    const key = intent.op?.key;
    let current: StockDocument | null = null;
    let snapshot = false;
    if (key !== undefined || change.kind === "set") {
      current = round === 1 && change.kind === "adjust" && intent.expectedSequence === undefined
        ? recent.forChange(productId, intent) ?? null
        : null;
      snapshot = current !== null;
      if (!snapshot) {
        current = await stock.findOne({ product_id: productId }, LIMIT);
        if (current === null) return { ok: false, reason: "not_found" };
        recent.saw(current);
      }
      const replay = await applied(current!, intent);
      // A replay is answered from the record as it is now: the snapshot's may have been deleted
      // (its keys are forgotten with it, and the key is new to the record made since).
      if (replay) return snapshot ? undefined : replay;
      if (!snapshot) {
        const decision = decide(toRecord(current!), intent);
        if (!decision.ok) return decision;
      }
    }
    const filter: Filter<StockDocument> = {
      product_id: productId,
      ...(current ? { ledger: current.ledger } : {}),
      // The key is not among the record's recent keys, and fewer changes than it keeps came since
      // the read: a key applied since is still among them (a key leaves once RECENT_KEYS newer
      // ones are in); one applied before was seen pending or has its key document (applied()).
      // Without the bound, a burst of newer keys could push out a duplicate applied meanwhile.
      ...(key !== undefined
        ? { ops: { $ne: key }, sequence: { $lt: current!.sequence + RECENT_KEYS } }
        : {}),
      ...(intent.expectedSequence !== undefined ? { sequence: intent.expectedSequence } : {}),
    };
    let update;
    let entry: string;
    if (change.kind === "adjust") {
      const reservedDelta = change.reservedDelta ?? 0;
      const range = adjustableRange(change.delta);
      filter.quantity = { $gte: range.min, $lte: range.max };
      if (reservedDelta < 0) filter.reserved = { $gte: -reservedDelta };
      entry = encodePending(pendingOf(intent, change.delta, reservedDelta));
      update = { $inc: { quantity: change.delta, reserved: reservedDelta, sequence: 1 } };
    } else {
      // An absolute count's delta depends on the quantity read: it applies to that version only.
      filter.sequence = current!.sequence;
      entry = encodePending(pendingOf(intent, change.quantity - current!.quantity, 0));
      update = { $inc: { sequence: 1 }, $set: { quantity: change.quantity } };
    }
    const after = await stock.findOneAndUpdate(filter, {
      ...update,
      $set: { ...("$set" in update ? update.$set : {}), last_updated: intent.at },
      $push: {
        pending: entry,
        ...(key !== undefined ? { ops: { $each: [key], $slice: -RECENT_KEYS } } : {}),
      },
    }, { returnDocument: "after", ...LIMIT });
    if (after !== null) return written(after, entry);
    if (snapshot) return undefined;
    if (current === null) {
      // Nothing matched a plain adjustment: the read only explains why; it never feeds a write.
      const now = await stock.findOne({ product_id: productId }, LIMIT);
      if (now === null) return { ok: false, reason: "not_found" };
      const decision = decide(toRecord(now), intent);
      if (!decision.ok) return decision;
    }
    return undefined;
  }

  return {
    async create(productId, intent) {
      assertDate(intent.at);
      if (intent.change.kind !== "set") throw new RangeError("A record is created by a set");
      assertQuantity(intent.change.quantity);
      const movement = nextMovement({ quantity: 0, reserved: 0, sequence: 0 }, productId, intent);
      // One insert: the first movement stays pending in the record, where readers merge it, until
      // the record's next change, whose flush copies it along (a flush now would cost an update:
      // on FerretDB an update's filter on anything but _id alone reads the whole collection, 15 ms
      // at 5,000 records). A creation that loses to another one has written nothing.
      const doc: StockDocument = {
        product_id: productId,
        quantity: movement.quantity,
        reserved: 0,
        last_updated: intent.at,
        sequence: 1,
        ledger: crypto.randomUUID(),
        pending: [encodePending(pendingOf(intent, movement.delta, 0))],
        ops: intent.op ? [intent.op.key] : [],
      };
      try {
        await stock.insertOne({ ...doc }, LIMIT);
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        const existing = await stock.findOne({ product_id: productId }, LIMIT);
        const replay = existing && await applied(existing, intent);
        if (replay) return replay;
        throw new StockAlreadyExistsError(productId);
      }
      return { ok: true, record: toRecord(doc), movement, replayed: false };
    },

    async replayed(productId, intent) {
      if (!intent.op) return null;
      const doc = await stock.findOne({ product_id: productId }, LIMIT);
      return doc === null ? null : await applied(doc, intent);
    },

    async get(productId) {
      const doc = await stock.findOne({ product_id: productId }, LIMIT);
      return doc === null ? null : toRecord(doc);
    },

    list(query) {
      return listStock(stock, query, LIMIT);
    },

    async apply(productId, intent) {
      assertDate(intent.at);
      if (intent.change.kind === "set") assertQuantity(intent.change.quantity);
      else if (!Number.isSafeInteger(intent.change.delta)) {
        throw new RangeError(`Delta must be an integer: ${intent.change.delta}`);
      }
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const result = await once(productId, intent, attempt);
        if (result) return result;
      }
      throw new Error(
        `Stock change gave up after ${maxAttempts} conflicting attempts: ${productId}`,
      );
    },

    async movements(productId, page) {
      const doc = await stock.findOne({ product_id: productId }, LIMIT);
      if (doc === null) return null;
      // Copied movements up to the first pending one, then the pending ones, derived.
      const copiedUpTo = doc.sequence - doc.pending.length;
      const copied = page.after >= copiedUpTo ? [] : await movements.find({
        _id: { $gt: movementId(doc.ledger, page.after), $lte: movementId(doc.ledger, copiedUpTo) },
      }, LIMIT).sort({ _id: 1 }).limit(page.limit).toArray();
      const pending = derivePending(doc).filter((m) => m.sequence > page.after);
      return [...copied.map(loadMovement), ...pending].slice(0, page.limit).map(toMovement);
    },

    async delete(productId, expectedSequence): Promise<DeleteResult> {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const current = await stock.findOne({ product_id: productId }, LIMIT);
        if (current === null) return { ok: false, reason: "not_found" };
        if (!meetsPrecondition({ expectedSequence }, current.sequence)) {
          return { ok: false, reason: "precondition_failed", current: toRecord(current) };
        }
        // Deletes the version that was read, so If-Match holds in the very write.
        const deleted = await stock.findOneAndDelete(
          { product_id: productId, sequence: current.sequence },
          LIMIT,
        );
        if (deleted === null) continue;
        recent.forget(productId);
        // The ledger goes after the record; from now on unreachable (a new record, a new ledger).
        const ofLedger = { _id: { $gt: `${deleted.ledger}:`, $lt: `${deleted.ledger};` } };
        await movements.deleteMany(ofLedger, LIMIT).catch(() => {});
        await keys.deleteMany(ofLedger, LIMIT).catch(() => {});
        return { ok: true };
      }
      throw new Error(`Stock delete gave up after ${maxAttempts} attempts: ${productId}`);
    },

    async ping() {
      await db.command({ ping: 1 });
    },

    async close() {
      await flusher.drain();
      if (closeClient) await client.close();
    },
  };
}
