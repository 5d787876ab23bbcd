import type { Collection, Filter } from "mongodb";
import type { StockListQuery, StockPage, StockRecord } from "../domain/stock.ts";
import { encodePending, type StockDocument } from "./mongo_ledger.ts";

export function toRecord(doc: StockDocument): StockRecord {
  return {
    productId: doc.product_id,
    quantity: doc.quantity,
    reserved: doc.reserved,
    lastUpdated: doc.last_updated,
    sequence: doc.sequence,
  };
}

export async function listStock(
  stock: Collection<StockDocument>,
  query: StockListQuery,
  limits: { maxTimeMS: number },
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
      ? stock.find(filter, { ...limits, projection: { pending: 0, ops: 0 } }).sort(sort)
        .skip(query.offset).limit(query.limit).toArray()
      : Promise.resolve([]),
    stock.countDocuments(filter, limits),
  ]);
  return { items: docs.map(toRecord), total };
}

/**
 * Records written before the ledger existed get one: a new ledger id, sequence 1, and an `initial`
 * movement of their quantity (pending, copied by the first flush), so their deltas sum to their
 * quantity like every other record's. Runs at start-up; each record is adopted once.
 */
export async function adoptLegacyRecords(stock: Collection<StockDocument>): Promise<void> {
  const legacy = await stock.find({ ledger: { $exists: false } }).toArray();
  for (const doc of legacy) {
    await stock.updateOne({ product_id: doc.product_id, ledger: { $exists: false } }, {
      $set: {
        reserved: 0,
        sequence: 1,
        ledger: crypto.randomUUID(),
        ops: [],
        pending: [encodePending({
          id: crypto.randomUUID(),
          delta: doc.quantity,
          reserved_delta: 0,
          reason: "initial",
          reference: null,
          request_id: "adopted",
          idempotency_key: null,
          fingerprint: null,
          reservation_id: null,
          occurred_at: doc.last_updated,
        })],
      },
    });
  }
}

/**
 * Names the gap when the server is known to apply findAndModify and update as a read followed by
 * a separate write, so conditional updates can race (FerretDB 1.x, FerretDB issue #3040); null for
 * MongoDB. For the start-up warning.
 */
export async function detectNonAtomicUpdates(
  client: { db(name: string): { command(c: object): Promise<Record<string, unknown>> } },
): Promise<string | null> {
  const info = await client.db("admin").command({ buildInfo: 1 });
  const ferret = info.ferretdbVersion;
  return typeof ferret === "string" && ferret.startsWith("v1.")
    ? `FerretDB ${ferret} does not apply conditional updates atomically`
    : null;
}
