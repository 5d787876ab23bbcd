import { adjustableRange, type AdjustResult, refusal, replayOf } from "../domain/adjustment.ts";
import { StockAlreadyExistsError } from "../domain/errors.ts";
import type { StockRepository } from "../domain/ports.ts";
import { assertDate, assertQuantity } from "../domain/stock.ts";
import type { StockListQuery, StockPage, StockRecord } from "../domain/stock.ts";

/**
 * Layout: the record lives at ["stock", productId]; two index entries hold a copy of it under keys
 * that sort the way `list` reads (KV orders number key parts numerically, then ties by the product
 * id), and a KvU64 counter makes the unfiltered `total` one read. All of them change in the same
 * atomic operation as the record, so they never disagree.
 */
const STOCK = "stock";
const BY_QUANTITY = "stock_by_quantity";
const BY_UPDATED = "stock_by_last_updated";
const COUNT = ["stock_count"];
/** Keyed operations applied, for exactly-once retries; kept as long as Idempotency-Keys are. */
const OPS = "stock_op";
const OP_TTL_MS = 24 * 60 * 60 * 1000;
/** Adding 2^64 - 1 to a KvU64 wraps around, which is how `sum` subtracts one. */
const MINUS_ONE = 0xffff_ffff_ffff_ffffn;

interface StockValue {
  quantity: number;
  lastUpdated: Date;
}

export interface KvStockRepositoryOptions {
  /**
   * Attempts of one check-and-set before giving up. Every failed check means another writer
   * committed, so the bound only matters under heavy contention on one product.
   */
  maxAttempts?: number;
  /** Whether close() closes the Deno.Kv handle; false when something else still uses it. */
  closeKv?: boolean;
}

export function createKvStockRepository(
  kv: Deno.Kv,
  options: KvStockRepositoryOptions = {},
): StockRepository {
  const maxAttempts = options.maxAttempts ?? 50;
  /**
   * Changes to one product from this instance take turns: racing each other they would mostly
   * fail their check and retry (only one of n wins a round), so a burst on one product cost
   * O(n²) attempts. Other instances still race, and the versionstamp check still decides.
   */
  const turns = new Map<string, Promise<unknown>>();
  function inTurn<T>(productId: string, change: () => Promise<T>): Promise<T> {
    const previous = turns.get(productId) ?? Promise.resolve();
    const mine = previous.then(change, change);
    const settled = mine.catch(() => {});
    turns.set(productId, settled);
    void settled.then(() => {
      if (turns.get(productId) === settled) turns.delete(productId);
    });
    return mine;
  }
  const closeKv = options.closeKv ?? true;

  /**
   * Read, decide, then commit only if the record is still the one that was read. `decide` returns
   * the new quantity, or a finished result when nothing should be written.
   */
  function update(
    productId: string,
    at: Date,
    decide: (current: number) => number | AdjustResult,
    opKey?: string,
  ): Promise<AdjustResult> {
    return inTurn(productId, () => attemptUpdate(productId, at, decide, opKey));
  }

  async function attemptUpdate(
    productId: string,
    at: Date,
    decide: (current: number) => number | AdjustResult,
    opKey?: string,
  ): Promise<AdjustResult> {
    const opEntryKey = opKey === undefined ? undefined : [OPS, productId, opKey];
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      // Both versionstamps are checked at commit, so two reads are as good as one snapshot.
      const entry = await kv.get<StockValue>([STOCK, productId]);
      const op = opEntryKey ? await kv.get<number>(opEntryKey) : undefined;
      if (entry.value === null) return { ok: false, reason: "not_found" };
      const current = entry.value;
      // Applied before (its answer was lost): change nothing.
      if (op?.value != null) return replayOf(_toRecord(productId, current));
      const next = decide(current.quantity);
      if (typeof next !== "number") return next;
      const after: StockValue = { quantity: next, lastUpdated: at };
      let atomic = kv.atomic().check(entry);
      if (op && opEntryKey) {
        // The key is recorded in the same commit as the change: both happen or neither does.
        atomic = atomic.check(op).set(opEntryKey, next - current.quantity, { expireIn: OP_TTL_MS });
      }
      const result = await _setIndexes(
        _removeIndexes(atomic, productId, current, after),
        productId,
        after,
      ).set([STOCK, productId], after).commit();
      if (result.ok) {
        return {
          ok: true,
          before: _toRecord(productId, current),
          after: _toRecord(productId, after),
        };
      }
      await _backoff(attempt);
    }
    throw new Error(`Stock update gave up after ${maxAttempts} conflicting attempts: ${productId}`);
  }

  return {
    async create(record) {
      assertQuantity(record.quantity);
      assertDate(record.lastUpdated);
      const value: StockValue = { quantity: record.quantity, lastUpdated: record.lastUpdated };
      const key = [STOCK, record.productId];
      // A null versionstamp check makes the insert conditional on the key being absent.
      const op = kv.atomic().check({ key, versionstamp: null }).set(key, value).sum(COUNT, 1n);
      const result = await _setIndexes(op, record.productId, value).commit();
      if (!result.ok) throw new StockAlreadyExistsError(record.productId);
      return _toRecord(record.productId, value);
    },

    async get(productId) {
      const entry = await kv.get<StockValue>([STOCK, productId]);
      return entry.value === null ? null : _toRecord(productId, entry.value);
    },

    list(query) {
      return _list(kv, query);
    },

    async adjust(productId, delta, at, opKey) {
      if (!Number.isSafeInteger(delta)) throw new RangeError(`Delta must be an integer: ${delta}`);
      assertDate(at);
      const range = adjustableRange(delta);
      return await update(
        productId,
        at,
        (current) =>
          current >= range.min && current <= range.max
            ? current + delta
            : refusal(productId, current, delta),
        opKey,
      );
    },

    async set(productId, quantity, at, opKey) {
      assertQuantity(quantity);
      assertDate(at);
      return await update(productId, at, () => quantity, opKey);
    },

    async delete(productId) {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const entry = await kv.get<StockValue>([STOCK, productId]);
        if (entry.value === null) return false;
        const result = await _removeIndexes(kv.atomic().check(entry), productId, entry.value)
          .delete([STOCK, productId])
          .sum(COUNT, MINUS_ONE)
          .commit();
        if (result.ok) return true;
        await _backoff(attempt);
      }
      throw new Error(
        `Stock delete gave up after ${maxAttempts} conflicting attempts: ${productId}`,
      );
    },

    async ping() {
      await kv.get(COUNT);
    },

    close() {
      if (closeKv) kv.close();
      return Promise.resolve();
    },
  };
}

async function _list(kv: Deno.Kv, query: StockListQuery): Promise<StockPage> {
  const { offset, limit, maxQuantity } = query;
  const reverse = query.sort.descending;
  if (maxQuantity !== undefined && maxQuantity < 0) return { items: [], total: 0 };

  if (maxQuantity === undefined) {
    // The counter gives the total, so only the entries up to the end of the page are read.
    const count = await kv.get<Deno.KvU64>(COUNT);
    const total = Number(count.value?.value ?? 0n);
    const prefix = query.sort.field === "quantity" ? BY_QUANTITY : BY_UPDATED;
    const items: StockRecord[] = [];
    if (limit > 0 && offset < total) {
      const iter = kv.list<StockValue>({ prefix: [prefix] }, { reverse, limit: offset + limit });
      let index = 0;
      for await (const entry of iter) {
        if (index++ >= offset) items.push(_fromIndex(entry));
      }
    }
    return { items, total };
  }

  // A filtered total has to be counted, so the whole matching range is read once.
  const selector: Deno.KvListSelector = query.sort.field === "quantity"
    ? { prefix: [BY_QUANTITY], end: [BY_QUANTITY, Math.floor(maxQuantity) + 1] }
    : { prefix: [BY_UPDATED] };
  const items: StockRecord[] = [];
  let total = 0;
  for await (const entry of kv.list<StockValue>(selector, { reverse, batchSize: 500 })) {
    if (entry.value.quantity > maxQuantity) continue;
    if (total >= offset && items.length < limit) items.push(_fromIndex(entry));
    total++;
  }
  return { items, total };
}

function _setIndexes(op: Deno.AtomicOperation, productId: string, value: StockValue) {
  return op
    .set([BY_QUANTITY, value.quantity, productId], value)
    .set([BY_UPDATED, value.lastUpdated.getTime(), productId], value);
}

/**
 * Skips an index key that `replacement` writes again, so the outcome never hangs on the order of a
 * delete and a set of one key within one atomic operation.
 */
function _removeIndexes(
  op: Deno.AtomicOperation,
  productId: string,
  value: StockValue,
  replacement?: StockValue,
) {
  if (value.quantity !== replacement?.quantity) op.delete([BY_QUANTITY, value.quantity, productId]);
  const time = value.lastUpdated.getTime();
  if (time !== replacement?.lastUpdated.getTime()) op.delete([BY_UPDATED, time, productId]);
  return op;
}

function _fromIndex(entry: Deno.KvEntry<StockValue>): StockRecord {
  return _toRecord(String(entry.key[2]), entry.value);
}

function _toRecord(productId: string, value: StockValue): StockRecord {
  return { productId, quantity: value.quantity, lastUpdated: new Date(value.lastUpdated) };
}

/** Jittered exponential backoff spreads contending writers out so one of them wins each round. */
function _backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(2 ** attempt, 50);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}
