/**
 * How the Deno KV adapter lays stock out:
 * - ["stock", productId] → the record (with its ledger's id);
 * - two index entries holding a copy of it, under keys that sort the way `list` reads (KV orders
 *   number parts numerically, then ties by product id), and a KvU64 counter for the total;
 * - ["movement", productId, ledger, sequence] → each movement, so a page is one range read;
 * - ["movement_key", productId, key] → the movement a keyed change wrote, for 24 h.
 * A record and everything about it change in one atomic operation, so they never disagree. A
 * record's ledger id is new with each creation: a deleted record's movements, removed after the
 * record, can never show in a new record's ledger.
 */
import type { Movement, MovementReason } from "../domain/movement.ts";
import type { StockListQuery, StockPage, StockRecord } from "../domain/stock.ts";

export const STOCK = "stock";
export const BY_QUANTITY = "stock_by_quantity";
export const BY_UPDATED = "stock_by_last_updated";
export const COUNT = ["stock_count"];
export const MOVEMENT = "movement";
export const MOVEMENT_KEY = "movement_key";
/** How long a keyed change is recognised: as long as Idempotency-Keys are kept. */
export const KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** Adding 2^64 - 1 to a KvU64 wraps around, which is how `sum` subtracts one. */
export const MINUS_ONE = 0xffff_ffff_ffff_ffffn;

export interface StockValue {
  quantity: number;
  reserved: number;
  lastUpdated: Date;
  sequence: number;
  ledger: string;
}

export interface MovementValue {
  delta: number;
  quantity: number;
  reservedDelta: number;
  reserved: number;
  reason: MovementReason;
  reference: string | null;
  requestId: string;
  idempotencyKey: string | null;
  reservationId: string | null;
  occurredAt: Date;
}

export interface KeyValue {
  ledger: string;
  sequence: number;
  fingerprint: string;
}

export function toRecord(productId: string, value: StockValue): StockRecord {
  return {
    productId,
    quantity: value.quantity,
    reserved: value.reserved ?? 0,
    lastUpdated: new Date(value.lastUpdated),
    sequence: value.sequence,
  };
}

export function toMovement(productId: string, sequence: number, value: MovementValue): Movement {
  return { productId, sequence, ...value, occurredAt: new Date(value.occurredAt) };
}

export function toMovementValue(movement: Movement): MovementValue {
  const { productId: _, sequence: __, ...value } = movement;
  return value;
}

export function setIndexes(op: Deno.AtomicOperation, productId: string, value: StockValue) {
  return op
    .set([BY_QUANTITY, value.quantity, productId], value)
    .set([BY_UPDATED, value.lastUpdated.getTime(), productId], value);
}

/**
 * Skips an index key that `replacement` writes again, so the outcome never hangs on the order of a
 * delete and a set of one key within one atomic operation.
 */
export function removeIndexes(
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

export async function listStock(kv: Deno.Kv, query: StockListQuery): Promise<StockPage> {
  const { offset, limit, maxQuantity } = query;
  const reverse = query.sort.descending;
  if (maxQuantity !== undefined && maxQuantity < 0) return { items: [], total: 0 };
  const fromIndex = (entry: Deno.KvEntry<StockValue>) =>
    toRecord(String(entry.key[2]), entry.value);

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
        if (index++ >= offset) items.push(fromIndex(entry));
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
    if (total >= offset && items.length < limit) items.push(fromIndex(entry));
    total++;
  }
  return { items, total };
}

/** Jittered exponential backoff spreads contending writers out so one of them wins each round. */
export function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(2 ** attempt, 50);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}
