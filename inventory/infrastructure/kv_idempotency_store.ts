import type { StoredKey } from "../domain/idempotency.ts";
import type { IdempotencyStore } from "../domain/ports.ts";

const PREFIX = "idempotency";

/**
 * Answers of keyed requests in Deno KV, under ["idempotency", key]. KV deletes expired keys only
 * eventually, so `expiresAt` is kept too. The store never closes `kv`: it shares the stock
 * repository's handle.
 */
export function createKvIdempotencyStore(kv: Deno.Kv): IdempotencyStore {
  return {
    async lookup(key) {
      return (await kv.get<StoredKey>([PREFIX, key])).value;
    },

    async record(answers, ttlMs) {
      _assertTtl(ttlMs);
      await Promise.all(answers.map(async ({ key, fingerprint, response }) => {
        const entry = await kv.get<StoredKey>([PREFIX, key]);
        if (entry.value !== null && entry.value.expiresAt > Date.now()) return;
        const value: StoredKey = { fingerprint, response, expiresAt: Date.now() + ttlMs };
        // Checking the version read keeps the first answer if two are recorded at once.
        await kv.atomic().check(entry).set([PREFIX, key], value, { expireIn: ttlMs }).commit();
      }));
    },
  };
}

function _assertTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`TTL must be a positive number of milliseconds: ${ttlMs}`);
  }
}
