import assert from "node:assert/strict";
import { FakeClock } from "../../tests/support/fake_clock.ts";
import { create, ledger } from "../../tests/contracts/stock_helpers.ts";
import { ReservationService } from "../application/reservation_service.ts";
import { CartRefusedError } from "../domain/errors.ts";
import { reservationContract } from "../../tests/contracts/reservations.ts";
import { createKvReservationStore } from "./kv_reservation_store.ts";
import { createKvStockRepository } from "./kv_stock_repository.ts";

reservationContract("KV reservations", async () => {
  const kv = await Deno.openKv(":memory:");
  const open = () => ({
    stock: createKvStockRepository(kv, { closeKv: false }),
    reservations: createKvReservationStore(kv),
  });
  return {
    ...open(),
    second: () => Promise.resolve(open()),
    reset: () => Promise.resolve(),
    close: () => Promise.resolve(kv.close()),
  };
});

Deno.test("KV holds a cart of 100 lines in one commit, and a short cart writes nothing", async () => {
  const kv = await Deno.openKv(":memory:");
  const stock = createKvStockRepository(kv, { closeKv: false });
  const carts = new ReservationService({
    stock,
    reservations: createKvReservationStore(kv),
    clock: new FakeClock(),
  });
  const log = { info() {}, warn() {}, error() {} };
  const ids = Array.from({ length: 100 }, (_, i) => `p-${String(i).padStart(3, "0")}`);
  for (const id of ids) await create(stock, id, 2);
  let commits = 0;
  const commit = Deno.AtomicOperation.prototype.commit;
  Deno.AtomicOperation.prototype.commit = function () {
    commits++;
    return commit.call(this);
  };
  try {
    const lines = ids.map((productId) => ({ productId, quantity: 1 }));
    const { reservation } = await carts.create(
      { lines, ttlSeconds: 60, reference: null },
      { requestId: "r", log },
    );
    // The record written pending, every line held, the record marked held.
    assert.equal(commits, 3);
    for (const id of ids) assert.equal((await stock.get(id))?.reserved, 1);

    commits = 0;
    const short = [...lines.slice(0, 99), { productId: "p-099", quantity: 2 }];
    await assert.rejects(
      carts.create({ lines: short, ttlSeconds: 60, reference: null }, { requestId: "r", log }),
      CartRefusedError,
    );
    assert.equal(commits, 2, "the record written pending, then marked failed");
    for (const id of ids) assert.equal((await ledger(stock, id)).length, 2);

    commits = 0;
    await carts.close(reservation.id, "committed", { requestId: "r", log });
    assert.equal(commits, 3, "decided, every line sold, closed");
    for (const id of ids) {
      assert.deepEqual([(await stock.get(id))?.quantity, (await stock.get(id))?.reserved], [1, 0]);
    }
  } finally {
    Deno.AtomicOperation.prototype.commit = commit;
    kv.close();
  }
});
