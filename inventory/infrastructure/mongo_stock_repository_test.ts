import { MongoClient } from "mongodb";
import { createMongoStockRepository } from "./mongo_stock_repository.ts";
import { stockRepositoryContract } from "../../tests/contracts/stock_repository.ts";

const url = Deno.env.get("MONGODB_URL");
const dbName = Deno.env.get("MONGODB_DB") ?? "inventory_test";

function _client(): MongoClient {
  // A short server selection timeout turns an outage into a quick failure, not a 30 s hang.
  return new MongoClient(url ?? "", { serverSelectionTimeoutMS: 3_000 });
}

stockRepositoryContract("Mongo StockRepository", async () => {
  const client = _client();
  const repo = await createMongoStockRepository(client, dbName);
  return {
    repo,
    reset: async () => {
      await client.db(dbName).collection("inventory").deleteMany({});
    },
    close: () => repo.close(),
  };
}, { ignore: !url });
