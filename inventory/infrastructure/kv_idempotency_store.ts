import { classifyClaim, type IdempotencyClaim, type StoredKey } from "../domain/idempotency.ts";
import type { IdempotencyStore } from "../domain/ports.ts";

const PREFIX = "idempotency";

/** KV deletes expired keys only eventually, so reads compare against `expiresAt` too. */
type KeyValue = StoredKey;

export interface KvIdempotencyStoreOptions {
  /** Attempts of one check-and-set before giving up; each failure means another writer won. */
  maxAttempts?: number;
}

/** The store never closes `kv`: it is meant to share the stock repository's handle. */
export function createKvIdempotencyStore(
  kv: Deno.Kv,
  options: KvIdempotencyStoreOptions = {},
): IdempotencyStore {
  const maxAttempts = options.maxAttempts ?? 20;

  async function retry<T>(what: string, key: string, step: () => Promise<T | undefined>) {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const result = await step();
      if (result !== undefined) return result;
    }
    throw new Error(
      `Idempotency ${what} gave up after ${maxAttempts} conflicting attempts: ${key}`,
    );
  }

  return {
    async lookup(key) {
      return (await kv.get<KeyValue>([PREFIX, key])).value;
    },

    async claim(key, fingerprint, ttlMs) {
      _assertTtl(ttlMs);
      return await retry<IdempotencyClaim>("claim", key, async () => {
        const entry = await kv.get<KeyValue>([PREFIX, key]);
        const now = Date.now();
        const verdict = classifyClaim(entry.value, fingerprint, now);
        if (verdict !== "free") return verdict;
        const value: KeyValue = { fingerprint, state: "in_progress", expiresAt: now + ttlMs };
        // Checking the versionstamp read above (null or an expired entry's) makes the claim atomic.
        const result = await kv.atomic()
          .check(entry)
          .set([PREFIX, key], value, { expireIn: ttlMs })
          .commit();
        return result.ok ? { state: "claimed" } : undefined;
      });
    },

    async complete(key, response, ttlMs) {
      _assertTtl(ttlMs);
      await retry("complete", key, async () => {
        const entry = await kv.get<KeyValue>([PREFIX, key]);
        // Without a live claim there is no fingerprint to pair the response with, so keep nothing.
        if (entry.value === null || entry.value.state !== "in_progress") return true;
        if (entry.value.expiresAt <= Date.now()) return true;
        const value: KeyValue = {
          fingerprint: entry.value.fingerprint,
          state: "completed",
          response,
          expiresAt: Date.now() + ttlMs,
        };
        const result = await kv.atomic()
          .check(entry)
          .set([PREFIX, key], value, { expireIn: ttlMs })
          .commit();
        return result.ok ? true : undefined;
      });
    },

    async release(key) {
      await retry("release", key, async () => {
        const entry = await kv.get<KeyValue>([PREFIX, key]);
        // A completed key keeps its stored answer; only an unfinished claim is given up.
        if (entry.value === null || entry.value.state !== "in_progress") return true;
        const result = await kv.atomic().check(entry).delete([PREFIX, key]).commit();
        return result.ok ? true : undefined;
      });
    },
  };
}

function _assertTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`TTL must be a positive number of milliseconds: ${ttlMs}`);
  }
}
