import { type Collection, type Filter, type MongoClient, MongoServerError } from "mongodb";
import type { ObjectId } from "mongodb";
import { adjustableRange, type AdjustResult, refusal, replayOf } from "../domain/adjustment.ts";
import { StockAlreadyExistsError } from "../domain/errors.ts";
import type { StockRepository } from "../domain/ports.ts";
import { assertDate, assertQuantity } from "../domain/stock.ts";
import { MAX_TIME_MS } from "./mongo_failures.ts";

/** Every operation carries the server-side limit, so MongoDB aborts one that runs too long. */
const LIMIT = { maxTimeMS: MAX_TIME_MS } as const;
import type { StockListQuery, StockPage, StockRecord } from "../domain/stock.ts";

/** The seed's document shape. */
interface StockDocument {
  _id?: ObjectId;
  product_id: string;
  quantity: number;
  last_updated: Date;
  /** Keys of the latest keyed operations applied (bounded), for exactly-once retries. */
  ops?: string[];
}

/** How many operation keys a document remembers: retries come within seconds, not thousands. */
const MAX_OPS = 100;

function _keyed(opKey: string | undefined) {
  return opKey === undefined ? { filter: {}, push: {} } : {
    filter: { ops: { $ne: opKey } },
    push: { $push: { ops: { $each: [opKey], $slice: -MAX_OPS } } },
  };
}

const DUPLICATE_KEY = 11000;

export interface MongoStockRepositoryOptions {
  /** Whether close() closes the client; false when something else still uses it. */
  closeClient?: boolean;
  /**
   * How often `adjust` re-runs its conditional update when the follow-up read shows the record
   * changed in between and the update might now apply.
   */
  maxAttempts?: number;
}

/**
 * Ensures the indexes (the unique one on product_id is what makes `create` safe under concurrency)
 * and returns the repository. Give the client a short `serverSelectionTimeoutMS` so an outage fails
 * requests quickly instead of after the driver's 30 s default.
 */
export async function createMongoStockRepository(
  client: MongoClient,
  dbName: string,
  options: MongoStockRepositoryOptions = {},
): Promise<StockRepository> {
  const db = client.db(dbName);
  const collection = db.collection<StockDocument>("inventory");
  // One call per index: FerretDB 1.24 drops the connection when a multi-index createIndexes
  // meets indexes that already exist, i.e. on every start after the first.
  await collection.createIndex({ product_id: 1 }, { name: "product_id_unique", unique: true });
  // One per sort order that `list` serves; the quantity one also serves the low-stock filter.
  await collection.createIndex({ quantity: 1, product_id: 1 }, { name: "quantity_product_id" });
  await collection.createIndex({ last_updated: 1, product_id: 1 }, {
    name: "last_updated_product_id",
  });
  const closeClient = options.closeClient ?? true;
  const maxAttempts = options.maxAttempts ?? 5;

  return {
    async create(record) {
      assertQuantity(record.quantity);
      assertDate(record.lastUpdated);
      try {
        await collection.insertOne({
          product_id: record.productId,
          quantity: record.quantity,
          last_updated: record.lastUpdated,
        }, LIMIT);
      } catch (error) {
        if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) {
          throw new StockAlreadyExistsError(record.productId);
        }
        throw error;
      }
      return { ...record, lastUpdated: new Date(record.lastUpdated) };
    },

    async get(productId) {
      const doc = await collection.findOne({ product_id: productId }, LIMIT);
      return doc === null ? null : _toRecord(doc);
    },

    list(query) {
      return _list(collection, query);
    },

    async adjust(productId, delta, at, opKey) {
      if (!Number.isSafeInteger(delta)) throw new RangeError(`Delta must be an integer: ${delta}`);
      assertDate(at);
      const keyed = _keyed(opKey);
      const range = adjustableRange(delta);
      const filter: Filter<StockDocument> = {
        product_id: productId,
        quantity: { $gte: range.min, $lte: range.max },
        ...keyed.filter,
      };
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        // The stock check is in the filter, so check and write are one atomic document update.
        const before = await collection.findOneAndUpdate(
          filter,
          { $inc: { quantity: delta }, $set: { last_updated: at }, ...keyed.push },
          { returnDocument: "before", ...LIMIT },
        );
        if (before !== null) {
          const after = { productId, quantity: before.quantity + delta, lastUpdated: new Date(at) };
          return { ok: true, before: _toRecord(before), after };
        }
        // Nothing matched: the read only explains why; it never feeds a write.
        const current = await collection.findOne({ product_id: productId }, LIMIT);
        if (current === null) return { ok: false, reason: "not_found" };
        if (opKey !== undefined && current.ops?.includes(opKey)) {
          return replayOf(_toRecord(current));
        }
        if (current.quantity < range.min || current.quantity > range.max) {
          return refusal(productId, current.quantity, delta);
        }
        // Another writer changed the quantity between the update and the read; try again.
      }
      throw new Error(
        `Stock adjust gave up after ${maxAttempts} conflicting attempts: ${productId}`,
      );
    },

    async set(productId, quantity, at, opKey): Promise<AdjustResult> {
      assertQuantity(quantity);
      assertDate(at);
      const keyed = _keyed(opKey);
      const before = await collection.findOneAndUpdate(
        { product_id: productId, ...keyed.filter },
        { $set: { quantity, last_updated: at }, ...keyed.push },
        { returnDocument: "before", ...LIMIT },
      );
      if (before === null) {
        const current = await collection.findOne({ product_id: productId }, LIMIT);
        if (current === null) return { ok: false, reason: "not_found" };
        return replayOf(_toRecord(current));
      }
      const after = { productId, quantity, lastUpdated: new Date(at) };
      return { ok: true, before: _toRecord(before), after };
    },

    async delete(productId) {
      const result = await collection.deleteOne({ product_id: productId }, LIMIT);
      return result.deletedCount === 1;
    },

    async ping() {
      await db.command({ ping: 1 });
    },

    async close() {
      if (closeClient) await client.close();
    },
  };
}

/**
 * Names the gap when the server is known to apply findAndModify and update as a read followed by
 * a separate write, so conditional updates can race (FerretDB 1.x, FerretDB issue #3040); null for
 * MongoDB. For start-up warnings and for skipping the contract cases that need atomic updates.
 */
export async function detectNonAtomicUpdates(client: MongoClient): Promise<string | null> {
  const info = await client.db("admin").command({ buildInfo: 1 });
  const ferret = info.ferretdbVersion;
  return typeof ferret === "string" && ferret.startsWith("v1.")
    ? `FerretDB ${ferret} does not apply conditional updates atomically`
    : null;
}

async function _list(
  collection: Collection<StockDocument>,
  query: StockListQuery,
): Promise<StockPage> {
  const filter: Filter<StockDocument> = query.maxQuantity === undefined
    ? {}
    : { quantity: { $lte: query.maxQuantity } };
  const direction = query.sort.descending ? -1 : 1;
  // The tie-break follows the sort direction, matching a reverse scan of the KV adapter's index.
  const sort = { [query.sort.field]: direction, product_id: direction } as const;
  const [docs, total] = await Promise.all([
    // limit(0) means "no limit" to MongoDB, so an empty page is never asked for.
    query.limit > 0
      ? collection.find(filter, LIMIT).sort(sort).skip(query.offset).limit(query.limit).toArray()
      : Promise.resolve([]),
    collection.countDocuments(filter, LIMIT),
  ]);
  return { items: docs.map(_toRecord), total };
}

function _toRecord(doc: StockDocument): StockRecord {
  return { productId: doc.product_id, quantity: doc.quantity, lastUpdated: doc.last_updated };
}
