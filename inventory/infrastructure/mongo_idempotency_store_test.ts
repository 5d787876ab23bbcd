import { MongoClient } from "mongodb";
import { createMongoIdempotencyStore } from "./mongo_idempotency_store.ts";
import { idempotencyStoreContract } from "../../tests/contracts/idempotency_store.ts";

const url = Deno.env.get("MONGODB_URL");
const dbName = Deno.env.get("MONGODB_DB") ?? "inventory_test";

function _client(): MongoClient {
  return new MongoClient(url ?? "", { serverSelectionTimeoutMS: 3_000 });
}

idempotencyStoreContract("Mongo IdempotencyStore", async () => {
  const client = _client();
  const store = await createMongoIdempotencyStore(client, dbName);
  return {
    store,
    reset: async () => {
      await client.db(dbName).collection("idempotency_keys").deleteMany({});
    },
    close: () => client.close(),
  };
}, { ignore: !url });
