import assert from "node:assert/strict";
import { OutcomeUnknownError, OverloadedError } from "@stockroom/kernel";
import { FakeClock } from "../../tests/support/fake_clock.ts";
import { create } from "../../tests/contracts/stock_helpers.ts";
import type { StockRepository } from "../domain/ports.ts";
import { LEASE_MS } from "../domain/reservation.ts";
import { createKvReservationStore } from "../infrastructure/kv_reservation_store.ts";
import { createKvStockRepository } from "../infrastructure/kv_stock_repository.ts";
import { ReservationService } from "./reservation_service.ts";

const log = { info() {}, warn() {}, error() {} };
const ctx = { requestId: "r", log };

/**
 * A real KV repository without its batch write (so lines go one by one, as on MongoDB) whose
 * `apply` refuses calls from number `from` up to `until`, while `failing` says so.
 */
function lineByLine(stock: StockRepository, from: number) {
  const state = { calls: 0, failing: true, until: Infinity };
  const wrapped: StockRepository = {
    ...stock,
    applyAll: undefined,
    apply(productId, intent) {
      state.calls++;
      if (state.failing && state.calls >= from && state.calls < state.until) {
        return Promise.reject(new OverloadedError("database"));
      }
      return stock.apply(productId, intent);
    },
  };
  return { wrapped, state };
}

async function setup(from: number) {
  const kv = await Deno.openKv(":memory:");
  const stock = createKvStockRepository(kv, { closeKv: false });
  for (const id of ["p-1", "p-2", "p-3"]) await create(stock, id, 5);
  const { wrapped, state } = lineByLine(stock, from);
  const clock = new FakeClock();
  const carts = new ReservationService({
    stock: wrapped,
    reservations: createKvReservationStore(kv),
    clock,
  });
  const levels = async () =>
    await Promise.all(["p-1", "p-2", "p-3"].map(async (id) => (await stock.get(id))?.quantity));
  return { kv, carts, state, clock, levels };
}

const cart = {
  lines: [{ productId: "p-1", quantity: 1 }, { productId: "p-2", quantity: 2 }, {
    productId: "p-3",
    quantity: 3,
  }],
  ttlSeconds: 60,
  reference: null,
};

Deno.test("a store refusal mid-cart gives back what was held and keeps its 503", async () => {
  const { kv, carts, state, levels } = await setup(3);
  // Calls 1 and 2 hold p-1 and p-2; call 3 (p-3) is refused; the undo's calls go through.
  state.until = 4;
  await assert.rejects(carts.create(cart, ctx), OverloadedError);
  assert.deepEqual(await levels(), [5, 5, 5]);
  kv.close();
});

Deno.test("a cart whose lines cannot be given back is a 504, and the sweep gives them back", async () => {
  const { kv, carts, state, clock, levels } = await setup(2);
  await assert.rejects(carts.create(cart, ctx), OutcomeUnknownError);
  assert.deepEqual(await levels(), [4, 5, 5], "p-1 is still held");
  state.failing = false;
  clock.advance(LEASE_MS);
  assert.equal(await carts.sweep(log), 1);
  assert.deepEqual(await levels(), [5, 5, 5]);
  kv.close();
});

Deno.test("a cart the store refuses to record as held gives its lines back and keeps its 503", async () => {
  const kv = await Deno.openKv(":memory:");
  const stock = createKvStockRepository(kv, { closeKv: false });
  for (const id of ["p-1", "p-2", "p-3"]) await create(stock, id, 5);
  const store = createKvReservationStore(kv);
  let refused = 0;
  const carts = new ReservationService({
    stock,
    reservations: {
      ...store,
      replace(next, version) {
        // The write that records the cart as held is refused, as a full write gate refuses.
        if (next.status === "held" && refused++ === 0) {
          return Promise.reject(new OverloadedError("database"));
        }
        return store.replace(next, version);
      },
    },
    clock: new FakeClock(),
  });
  await assert.rejects(carts.create(cart, ctx), OverloadedError);
  for (const id of ["p-1", "p-2", "p-3"]) {
    const record = await stock.get(id);
    assert.deepEqual([record?.quantity, record?.reserved], [5, 0], id);
  }
  assert.equal((await carts.list({ offset: 0, limit: 10 })).total, 0);
  kv.close();
});
