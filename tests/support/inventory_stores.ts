/** The inventory stores an API test runs on: Deno KV always, MongoDB when MONGODB_URL is set. */
import { MongoClient } from "mongodb";
import type {
  IdempotencyStore,
  ReservationStore,
  StockRepository,
} from "../../inventory/domain/ports.ts";
import { createKvIdempotencyStore } from "../../inventory/infrastructure/kv_idempotency_store.ts";
import { createKvReservationStore } from "../../inventory/infrastructure/kv_reservation_store.ts";
import { createKvStockRepository } from "../../inventory/infrastructure/kv_stock_repository.ts";
import { createMongoIdempotencyStore } from "../../inventory/infrastructure/mongo_idempotency_store.ts";
import { createMongoReservationStore } from "../../inventory/infrastructure/mongo_reservation_store.ts";
import { createMongoStockRepository } from "../../inventory/infrastructure/mongo_stock_repository.ts";

export interface InventoryStores {
  repository: StockRepository;
  reservations: ReservationStore;
  idempotencyStore: IdempotencyStore;
  close(): Promise<void>;
}

const MONGODB_URL = Deno.env.get("MONGODB_URL");

export const inventoryBackends: {
  name: string;
  ignore: boolean;
  open: () => Promise<InventoryStores>;
}[] = [
  {
    name: "Deno KV",
    ignore: false,
    async open() {
      const kv = await Deno.openKv(":memory:");
      return {
        repository: createKvStockRepository(kv, { closeKv: false }),
        reservations: createKvReservationStore(kv),
        idempotencyStore: createKvIdempotencyStore(kv),
        close: () => Promise.resolve(kv.close()),
      };
    },
  },
  {
    name: "MongoDB (MONGODB_URL)",
    ignore: !MONGODB_URL,
    async open() {
      const client = new MongoClient(MONGODB_URL!, { serverSelectionTimeoutMS: 3000 });
      // A database of its own, so parallel test files never share documents.
      const db = `api_test_${crypto.randomUUID().slice(0, 8)}`;
      const repository = await createMongoStockRepository(client, db, { closeClient: false });
      return {
        repository,
        reservations: await createMongoReservationStore(client, db),
        idempotencyStore: await createMongoIdempotencyStore(client, db),
        async close() {
          await repository.close();
          await client.db(db).dropDatabase();
          await client.close();
        },
      };
    },
  },
];
