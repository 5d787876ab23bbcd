import { type ChangeResult, decide, meetsPrecondition } from "../domain/adjustment.ts";
import { StockAlreadyExistsError } from "../domain/errors.ts";
import { type ChangeIntent, nextMovement } from "../domain/movement.ts";
import type { DeleteResult, StockRepository } from "../domain/ports.ts";
import { assertDate, assertQuantity } from "../domain/stock.ts";
import { applyAllOnce, keyedMovement, valueAfter, writeChange } from "./kv_stock_batch.ts";
import {
  backoff,
  COUNT,
  type KeyValue,
  listStock,
  MINUS_ONE,
  MOVEMENT,
  MOVEMENT_KEY,
  type MovementValue,
  removeIndexes,
  STOCK,
  type StockValue,
  toMovement,
  toMovementValue,
  toRecord,
} from "./kv_stock_layout.ts";

export interface KvStockRepositoryOptions {
  /**
   * Attempts of one check-and-set before giving up. Every failed check means another writer
   * committed, so the bound only matters under heavy contention on one product.
   */
  maxAttempts?: number;
  /** Whether close() closes the Deno.Kv handle; false when something else still uses it. */
  closeKv?: boolean;
}

/**
 * Stock in Deno KV (layout in kv_stock_layout.ts): every change is one atomic commit of the record,
 * its indexes, its movement and its key, checked against the versions that were read.
 */
export function createKvStockRepository(
  kv: Deno.Kv,
  options: KvStockRepositoryOptions = {},
): StockRepository {
  const maxAttempts = options.maxAttempts ?? 50;
  const closeKv = options.closeKv ?? true;
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

  const keyed = (productId: string, intent: ChangeIntent, ledger: string | undefined) =>
    keyedMovement(kv, productId, intent, ledger);

  async function applyOnce(productId: string, intent: ChangeIntent): Promise<ChangeResult> {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const entry = await kv.get<StockValue>([STOCK, productId]);
      if (entry.value === null) return { ok: false, reason: "not_found" };
      const current = entry.value;
      const { entry: keyEntry, replay } = await keyed(productId, intent, current.ledger);
      if (replay) return replay;
      const decision = decide(toRecord(productId, current), intent);
      if (!decision.ok) return decision;
      const { movement } = decision;
      const after = valueAfter(current, movement, intent.at);
      const atomic = removeIndexes(kv.atomic().check(entry), productId, current, after);
      const result = await writeChange(
        atomic,
        productId,
        after,
        toMovementValue(movement),
        intent,
        keyEntry,
      ).commit();
      if (result.ok) {
        return { ok: true, record: toRecord(productId, after), movement, replayed: false };
      }
      await backoff(attempt);
    }
    throw new Error(`Stock change gave up after ${maxAttempts} conflicting attempts: ${productId}`);
  }

  return {
    async applyAll(changes) {
      const products = new Set(changes.map((c) => c.productId));
      if (products.size !== changes.length) {
        throw new RangeError("applyAll takes one change per record");
      }
      for (const { intent } of changes) {
        assertDate(intent.at);
        if (intent.change.kind === "set") assertQuantity(intent.change.quantity);
      }
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const result = await applyAllOnce(kv, changes);
        if (result) return result;
        await backoff(attempt);
      }
      throw new Error(`Stock changes gave up after ${maxAttempts} conflicting attempts`);
    },

    async create(productId, intent) {
      assertDate(intent.at);
      if (intent.change.kind !== "set") throw new RangeError("A record is created by a set");
      assertQuantity(intent.change.quantity);
      return await inTurn(productId, async () => {
        for (let attempt = 1; attempt <= maxAttempts; attempt++) {
          const entry = await kv.get<StockValue>([STOCK, productId]);
          if (entry.value !== null) {
            const { replay } = await keyed(productId, intent, entry.value.ledger);
            if (replay) return replay;
            throw new StockAlreadyExistsError(productId);
          }
          const movement = nextMovement(
            { quantity: 0, reserved: 0, sequence: 0 },
            productId,
            intent,
          );
          const value: StockValue = {
            quantity: movement.quantity,
            reserved: 0,
            lastUpdated: intent.at,
            sequence: 1,
            ledger: crypto.randomUUID(),
          };
          const keyEntry = intent.op
            ? await kv.get<KeyValue>([MOVEMENT_KEY, productId, intent.op.key])
            : undefined;
          // A null versionstamp check makes the insert conditional on the key being absent.
          const atomic = kv.atomic().check({ key: [STOCK, productId], versionstamp: null })
            .sum(COUNT, 1n);
          const result = await writeChange(
            atomic,
            productId,
            value,
            toMovementValue(movement),
            intent,
            keyEntry,
          ).commit();
          if (result.ok) {
            return { ok: true, record: toRecord(productId, value), movement, replayed: false };
          }
          await backoff(attempt);
        }
        throw new Error(`Stock create gave up after ${maxAttempts} attempts: ${productId}`);
      });
    },

    async replayed(productId, intent) {
      if (!intent.op) return null;
      const entry = await kv.get<StockValue>([STOCK, productId]);
      if (entry.value === null) return null;
      return (await keyed(productId, intent, entry.value.ledger)).replay ?? null;
    },

    async get(productId) {
      const entry = await kv.get<StockValue>([STOCK, productId]);
      return entry.value === null ? null : toRecord(productId, entry.value);
    },

    list(query) {
      return listStock(kv, query);
    },

    async apply(productId, intent) {
      assertDate(intent.at);
      if (intent.change.kind === "set") assertQuantity(intent.change.quantity);
      else if (!Number.isSafeInteger(intent.change.delta)) {
        throw new RangeError(`Delta must be an integer: ${intent.change.delta}`);
      }
      return await inTurn(productId, () => applyOnce(productId, intent));
    },

    async movements(productId, page) {
      const entry = await kv.get<StockValue>([STOCK, productId]);
      if (entry.value === null) return null;
      const { ledger } = entry.value;
      const movements = [];
      const iter = kv.list<MovementValue>({
        start: [MOVEMENT, productId, ledger, page.after + 1],
        end: [MOVEMENT, productId, ledger, Number.MAX_SAFE_INTEGER],
      }, { limit: page.limit });
      for await (const item of iter) {
        movements.push(toMovement(productId, Number(item.key[3]), item.value));
      }
      return movements;
    },

    delete(productId, expectedSequence) {
      return inTurn(productId, async (): Promise<DeleteResult> => {
        for (let attempt = 1; attempt <= maxAttempts; attempt++) {
          const entry = await kv.get<StockValue>([STOCK, productId]);
          if (entry.value === null) return { ok: false, reason: "not_found" };
          const current = toRecord(productId, entry.value);
          if (!meetsPrecondition({ expectedSequence }, current.sequence)) {
            return { ok: false, reason: "precondition_failed", current };
          }
          const result = await removeIndexes(kv.atomic().check(entry), productId, entry.value)
            .delete([STOCK, productId])
            .sum(COUNT, MINUS_ONE)
            .commit();
          if (result.ok) {
            // The ledger goes after the record, in batches (a commit holds at most 1,000
            // mutations); from the moment the record is gone it is unreachable, since a new
            // record gets a new ledger id.
            await deleteLedger(kv, productId, entry.value.ledger);
            return { ok: true };
          }
          await backoff(attempt);
        }
        throw new Error(`Stock delete gave up after ${maxAttempts} attempts: ${productId}`);
      });
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

async function deleteLedger(kv: Deno.Kv, productId: string, ledger: string): Promise<void> {
  try {
    let batch = kv.atomic();
    let size = 0;
    for await (const entry of kv.list({ prefix: [MOVEMENT, productId, ledger] })) {
      batch.delete(entry.key);
      if (++size === 500) {
        await batch.commit();
        batch = kv.atomic();
        size = 0;
      }
    }
    if (size > 0) await batch.commit();
  } catch {
    // Best effort: whatever is left is unreachable (no record names this ledger any more).
  }
}
