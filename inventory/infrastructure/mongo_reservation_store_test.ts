import { MongoClient } from "mongodb";
import { reservationContract } from "../../tests/contracts/reservations.ts";
import { createMongoReservationStore } from "./mongo_reservation_store.ts";
import { createMongoStockRepository } from "./mongo_stock_repository.ts";

const url = Deno.env.get("MONGODB_URL");
const dbName = Deno.env.get("MONGODB_DB") ?? "inventory_test";

function _client(): MongoClient {
  return new MongoClient(url ?? "", { serverSelectionTimeoutMS: 3_000 });
}

reservationContract("Mongo reservations", async () => {
  // A database of its own per case: the cases run in parallel with other test files.
  const db = `${dbName}_${crypto.randomUUID().slice(0, 8)}`;
  const client = _client();
  const stock = await createMongoStockRepository(client, db, { closeClient: false });
  return {
    stock,
    reservations: await createMongoReservationStore(client, db),
    async second() {
      const other = _client();
      return {
        stock: await createMongoStockRepository(other, db),
        reservations: await createMongoReservationStore(other, db),
      };
    },
    reset: () => Promise.resolve(),
    async close() {
      await stock.close();
      await client.db(db).dropDatabase();
      await client.close();
    },
  };
}, { ignore: !url });
