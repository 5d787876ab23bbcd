/** Deno KV stock changes that read a key's movement, and several records changed in one commit. */
import { type ChangeResult, decide, replayOf } from "../domain/adjustment.ts";
import type { ChangeIntent, Movement } from "../domain/movement.ts";
import type { BatchResult, RecordChange } from "../domain/ports.ts";
import {
  KEY_TTL_MS,
  type KeyValue,
  MOVEMENT,
  MOVEMENT_KEY,
  type MovementValue,
  removeIndexes,
  setIndexes,
  STOCK,
  type StockValue,
  toMovement,
  toMovementValue,
  toRecord,
} from "./kv_stock_layout.ts";

/** The movement an earlier request with this key wrote in the record's ledger, if any. */
export async function keyedMovement(
  kv: Deno.Kv,
  productId: string,
  intent: ChangeIntent,
  ledger: string | undefined,
) {
  if (!intent.op || ledger === undefined) return { entry: undefined, replay: undefined };
  const entry = await kv.get<KeyValue>([MOVEMENT_KEY, productId, intent.op.key]);
  if (entry.value === null || entry.value.ledger !== ledger) return { entry, replay: undefined };
  const movement = await kv.get<MovementValue>([
    MOVEMENT,
    productId,
    ledger,
    entry.value.sequence,
  ]);
  if (movement.value === null) return { entry, replay: undefined };
  const found = toMovement(productId, entry.value.sequence, movement.value);
  return { entry, replay: replayOf(found, entry.value, intent) };
}

/** The record as `movement` leaves it. */
export function valueAfter(current: StockValue, movement: Movement, at: Date): StockValue {
  return {
    quantity: movement.quantity,
    reserved: movement.reserved,
    lastUpdated: at,
    sequence: movement.sequence,
    ledger: current.ledger,
  };
}

/**
 * Adds a change to `atomic`: the record, its movement, its indexes and, for a keyed change, the
 * key (checked against `keyEntry` when one was read; within a batch the record's own check covers
 * it, since a key is only ever written together with its record).
 */
export function writeChange(
  atomic: Deno.AtomicOperation,
  productId: string,
  value: StockValue,
  movement: MovementValue,
  intent: ChangeIntent,
  keyEntry?: Deno.KvEntryMaybe<KeyValue>,
): Deno.AtomicOperation {
  atomic.set([STOCK, productId], value).set(
    [MOVEMENT, productId, value.ledger, value.sequence],
    movement,
  );
  if (intent.op) {
    const key: KeyValue = {
      ledger: value.ledger,
      sequence: value.sequence,
      fingerprint: intent.op.fingerprint,
    };
    if (keyEntry) atomic.check(keyEntry);
    atomic.set([MOVEMENT_KEY, productId, intent.op.key], key, { expireIn: KEY_TTL_MS });
  }
  return setIndexes(atomic, productId, value);
}

/**
 * Every change in one commit, checked against every record read: all or nothing. A key's entry
 * needs no check of its own here: it is only ever written together with its record, whose
 * check already fails if anyone wrote either since the read.
 */
export async function applyAllOnce(
  kv: Deno.Kv,
  changes: readonly RecordChange[],
): Promise<BatchResult | null> {
  const entries = [];
  for (let i = 0; i < changes.length; i += 10) {
    const keys = changes.slice(i, i + 10).map((c) => [STOCK, c.productId]);
    entries.push(...await kv.getMany<StockValue[]>(keys));
  }
  const results: Extract<ChangeResult, { ok: true }>[] = [];
  const refusals: { index: number; result: Exclude<ChangeResult, { ok: true }> }[] = [];
  const atomic = kv.atomic();
  for (const [index, { productId, intent }] of changes.entries()) {
    const entry = entries[index]!;
    if (entry.value === null) {
      refusals.push({ index, result: { ok: false, reason: "not_found" } });
      continue;
    }
    const current = entry.value;
    const { replay } = await keyedMovement(kv, productId, intent, current.ledger);
    if (replay) {
      if (replay.ok) results.push(replay);
      else refusals.push({ index, result: replay });
      continue;
    }
    const decision = decide(toRecord(productId, current), intent);
    if (!decision.ok) {
      refusals.push({ index, result: decision });
      continue;
    }
    const { movement } = decision;
    const after = valueAfter(current, movement, intent.at);
    removeIndexes(atomic.check(entry), productId, current, after);
    writeChange(atomic, productId, after, toMovementValue(movement), intent);
    results.push({ ok: true, record: toRecord(productId, after), movement, replayed: false });
  }
  if (refusals.length > 0) return { applied: false, refusals };
  if (results.every((r) => r.replayed)) return { applied: true, results };
  return (await atomic.commit()).ok ? { applied: true, results } : null;
}
