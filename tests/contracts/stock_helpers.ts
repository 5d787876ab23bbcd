import assert from "node:assert/strict";
import type { ChangeResult } from "../../inventory/domain/adjustment.ts";
import {
  type ChangeIntent,
  defaultReason,
  type Movement,
  type StockChange,
} from "../../inventory/domain/movement.ts";
import type { StockRepository } from "../../inventory/domain/ports.ts";
import type { StockRecord } from "../../inventory/domain/stock.ts";

export interface StockRepositoryHarness {
  repo: StockRepository;
  /** Empties the store, so each case starts from nothing. */
  reset(): Promise<void>;
  /** Releases everything `open` acquired, so Deno's sanitizers pass. */
  close(): Promise<void>;
  /** Another instance on the same store (a second service instance). */
  second(): Promise<StockRepository>;
  /**
   * An instance that dies between the stock write and the ledger write: its changes are applied,
   * their movements left as a crash would leave them (an atomic store has no such gap).
   */
  crashing(): Promise<StockRepository>;
}

export interface ContractOptions {
  ignore?: boolean;
  /** Turn off for drivers that finish socket and timer clean-up after close() resolves. */
  sanitize?: boolean;
}

/** Registers one contract case per Deno test, each on a freshly opened and reset store. */
export function registerContractCase<T>(
  name: string,
  open: () => Promise<{ reset(): Promise<void>; close(): Promise<void> } & T>,
  options: ContractOptions,
): (title: string, fn: (harness: T) => Promise<void>) => void {
  return function test(title, fn) {
    Deno.test({
      name: `${name}: ${title}`,
      ignore: options.ignore ?? false,
      sanitizeOps: options.sanitize ?? true,
      sanitizeResources: options.sanitize ?? true,
      async fn() {
        const harness = await open();
        try {
          await harness.reset();
          await fn(harness);
        } finally {
          await harness.close();
        }
      },
    });
  };
}

export const T0 = new Date("2026-01-01T00:00:00.000Z");

export function at(minutes: number): Date {
  return new Date(T0.getTime() + minutes * 60_000);
}

export function rec(productId: string, quantity: number, when = T0, sequence = 1): StockRecord {
  return { productId, quantity, reserved: 0, lastUpdated: when, sequence };
}

export function intent(change: StockChange, when: Date, extra: Partial<ChangeIntent> = {}) {
  return {
    change,
    reason: defaultReason(change),
    reference: null,
    requestId: "req-1",
    reservationId: null,
    at: when,
    ...extra,
  } satisfies ChangeIntent;
}

export const create = (r: StockRepository, id: string, q: number, when = T0, extra = {}) =>
  r.create(id, intent({ kind: "set", quantity: q }, when, { reason: "initial", ...extra }));
export const adjust = (r: StockRepository, id: string, delta: number, when: Date, extra = {}) =>
  r.apply(id, intent({ kind: "adjust", delta }, when, extra));
export const set = (r: StockRepository, id: string, q: number, when: Date, extra = {}) =>
  r.apply(id, intent({ kind: "set", quantity: q }, when, extra));

export function recordOf(result: ChangeResult): StockRecord | undefined {
  return result.ok ? result.record : undefined;
}

/** Every movement of a record, all pages. */
export async function ledger(r: StockRepository, id: string): Promise<Movement[]> {
  const all: Movement[] = [];
  for (;;) {
    const page = await r.movements(id, { after: all.at(-1)?.sequence ?? 0, limit: 7 });
    if (page === null || page.length === 0) return all;
    all.push(...page);
  }
}

/** The ledger's invariants: sequences 1..n with no gap, deltas summing to the record's quantity. */
export async function assertLedger(r: StockRepository, id: string, changes?: number) {
  const record = await r.get(id);
  const movements = await ledger(r, id);
  assert.deepEqual(movements.map((m) => m.sequence), movements.map((_, i) => i + 1), "gap-free");
  assert.equal(movements.reduce((sum, m) => sum + m.delta, 0), record?.quantity, "deltas sum");
  assert.equal(movements.reduce((sum, m) => sum + m.reservedDelta, 0), record?.reserved);
  assert.equal(movements.at(-1)?.sequence, record?.sequence, "the record's version");
  assert.equal(movements.at(-1)?.quantity, record?.quantity);
  if (changes !== undefined) assert.equal(movements.length, changes, "one movement a change");
  return movements;
}
