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
