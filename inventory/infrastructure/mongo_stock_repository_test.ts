import { MongoClient } from "mongodb";
import { stockRepositoryContract } from "../../tests/contracts/stock_repository.ts";
import { createMongoStockRepository } from "./mongo_stock_repository.ts";

const url = Deno.env.get("MONGODB_URL");
const dbName = Deno.env.get("MONGODB_DB") ?? "inventory_test";

function _client(): MongoClient {
  // A short server selection timeout turns an outage into a quick failure, not a 30 s hang.
  return new MongoClient(url ?? "", { serverSelectionTimeoutMS: 3_000 });
}

stockRepositoryContract("Mongo StockRepository", async () => {
  // A database of its own per case: the cases run in parallel with other test files.
  const db = `${dbName}_${crypto.randomUUID().slice(0, 8)}`;
  const client = _client();
  const repo = await createMongoStockRepository(client, db, { closeClient: false });
  return {
    repo,
    reset: () => Promise.resolve(),
    second: () => createMongoStockRepository(_client(), db),
    // Changes applied, movements left pending in the record, as a crash before the copy leaves them.
    crashing: () => createMongoStockRepository(_client(), db, { ledger: { enabled: false } }),
    async close() {
      await repo.close();
      await client.db(db).dropDatabase();
      await client.close();
    },
  };
}, { ignore: !url });
