import { createKvIdempotencyStore } from "./kv_idempotency_store.ts";
import { idempotencyStoreContract } from "./idempotency_store_contract.ts";

idempotencyStoreContract("KV IdempotencyStore", async () => {
  const kv = await Deno.openKv(":memory:");
  return {
    store: createKvIdempotencyStore(kv),
    reset: () => Promise.resolve(),
    close: () => Promise.resolve(kv.close()),
  };
});
