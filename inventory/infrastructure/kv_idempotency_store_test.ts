import { createKvIdempotencyStore } from "./kv_idempotency_store.ts";
import { idempotencyStoreContract } from "../../tests/contracts/idempotency_store.ts";

idempotencyStoreContract("KV IdempotencyStore", async () => {
  const kv = await Deno.openKv(":memory:");
  return {
    store: createKvIdempotencyStore(kv),
    reset: () => Promise.resolve(),
    close: () => Promise.resolve(kv.close()),
  };
});
