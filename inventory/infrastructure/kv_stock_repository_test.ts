import { stockRepositoryContract } from "../../tests/contracts/stock_repository.ts";
import { createKvStockRepository } from "./kv_stock_repository.ts";

// A fresh in-memory database per case is already empty, so reset has nothing to do.
stockRepositoryContract("KV StockRepository", async () => {
  const kv = await Deno.openKv(":memory:");
  // Another instance is another repository on the same database (as instances share Deploy's):
  // it takes no turns with this one, so their changes race on the versionstamp checks.
  const another = () => Promise.resolve(createKvStockRepository(kv, { closeKv: false }));
  return {
    repo: createKvStockRepository(kv),
    reset: () => Promise.resolve(),
    second: another,
    // One atomic commit holds the change and its movement: there is no gap to crash in.
    crashing: another,
    close: () => Promise.resolve(kv.close()),
  };
});
