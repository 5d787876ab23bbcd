import { createKvStockRepository } from "./kv_stock_repository.ts";
import { stockRepositoryContract } from "../../tests/contracts/stock_repository.ts";

// A fresh in-memory database per case is already empty, so reset has nothing to do.
stockRepositoryContract("KV StockRepository", async () => {
  const repo = createKvStockRepository(await Deno.openKv(":memory:"));
  return { repo, reset: () => Promise.resolve(), close: () => repo.close() };
});
