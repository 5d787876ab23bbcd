import { type Collection, type MongoClient, MongoServerError } from "mongodb";
import { classifyClaim, type IdempotentResponse, type StoredKey } from "../domain/idempotency.ts";
import type { IdempotencyStore } from "../domain/ports.ts";
import { MAX_TIME_MS } from "./mongo_failures.ts";

/** Every operation carries the server-side limit, so MongoDB aborts one that runs too long. */
const LIMIT = { maxTimeMS: MAX_TIME_MS } as const;

interface KeyDocument {
  _id: string;
  fingerprint: string;
  state: "in_progress" | "completed";
  /**
   * Headers become a list because a header name may contain "." or start with "$"; a list of
   * objects, not of pairs, because FerretDB 1.x rejects nested arrays.
   */
  response?: { status: number; body: string; headers: { name: string; value: string }[] };
  expires_at: Date;
}

const DUPLICATE_KEY = 11000;
/** Server error codes meaning "this server has no TTL indexes" (FerretDB 1.x answers 238). */
const NOT_IMPLEMENTED = new Set([115, 238]);
const SWEEP_INTERVAL_MS = 60_000;

export interface MongoIdempotencyStoreOptions {
  /** Rounds of insert-or-read before giving up; a round repeats only if the key vanished meanwhile. */
  maxAttempts?: number;
}

/**
 * Ensures the TTL index and returns the store. The store never closes `client`: it is meant to
 * share the stock repository's client.
 */
export async function createMongoIdempotencyStore(
  client: MongoClient,
  dbName: string,
  options: MongoIdempotencyStoreOptions = {},
): Promise<IdempotencyStore> {
  const collection = client.db(dbName).collection<KeyDocument>("idempotency_keys");
  const hasTtlIndex = await _ensureExpiryIndex(collection);
  const maxAttempts = options.maxAttempts ?? 5;
  let lastSweep = 0;

  /** Without a TTL index (FerretDB) expired keys are removed here, at most once a minute. */
  async function sweep(now: Date): Promise<void> {
    if (hasTtlIndex || now.getTime() - lastSweep < SWEEP_INTERVAL_MS) return;
    lastSweep = now.getTime();
    await collection.deleteMany({ expires_at: { $lte: now } });
  }

  return {
    async lookup(key) {
      const doc = await collection.findOne({ _id: key }, LIMIT);
      return doc && _toStoredKey(doc);
    },

    async claim(key, fingerprint, ttlMs) {
      _assertTtl(ttlMs);
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const now = new Date();
        await sweep(now);
        try {
          // One atomic upsert: inserts a new key or takes over an expired one (the TTL monitor runs
          // only every ~60 s). A live key fails the filter, and the upsert then hits the unique _id.
          await collection.updateOne(
            { _id: key, expires_at: { $lte: now } },
            {
              $set: {
                fingerprint,
                state: "in_progress",
                expires_at: new Date(now.getTime() + ttlMs),
              },
              $unset: { response: "" },
            },
            { upsert: true },
          );
          return { state: "claimed" };
        } catch (error) {
          if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
        }
        const existing = await collection.findOne({ _id: key }, LIMIT);
        const verdict = classifyClaim(existing && _toStoredKey(existing), fingerprint, Date.now());
        // Released or expired since the upsert: the next round can claim it.
        if (verdict === "free") continue;
        return verdict;
      }
      throw new Error(`Idempotency claim gave up after ${maxAttempts} attempts: ${key}`);
    },

    async complete(key, response, ttlMs) {
      _assertTtl(ttlMs);
      const now = new Date();
      // Only a live claim is completed: without one there is no fingerprint to pair the answer with.
      await collection.updateOne(
        { _id: key, state: "in_progress", expires_at: { $gt: now } },
        {
          $set: {
            state: "completed",
            response: _toStored(response),
            expires_at: new Date(now.getTime() + ttlMs),
          },
        },
        LIMIT,
      );
    },

    async release(key) {
      // A completed key keeps its stored answer; only an unfinished claim is given up.
      await collection.deleteOne({ _id: key, state: "in_progress" }, LIMIT);
    },
  };
}

/** Returns whether the server will expire documents itself. */
async function _ensureExpiryIndex(collection: Collection<KeyDocument>): Promise<boolean> {
  try {
    await collection.createIndex({ expires_at: 1 }, {
      name: "expires_at_ttl",
      expireAfterSeconds: 0,
    });
    return true;
  } catch (error) {
    if (!(error instanceof MongoServerError && NOT_IMPLEMENTED.has(Number(error.code)))) {
      throw error;
    }
  }
  // A plain index still keeps the sweep's range delete cheap.
  await collection.createIndex({ expires_at: 1 }, { name: "expires_at" });
  return false;
}

function _toStoredKey(doc: KeyDocument): StoredKey {
  return {
    fingerprint: doc.fingerprint,
    state: doc.state,
    response: doc.response && _fromStored(doc.response),
    expiresAt: doc.expires_at.getTime(),
  };
}

function _toStored(response: IdempotentResponse): KeyDocument["response"] {
  return {
    status: response.status,
    body: response.body,
    headers: Object.entries(response.headers).map(([name, value]) => ({ name, value })),
  };
}

function _fromStored(stored: NonNullable<KeyDocument["response"]>): IdempotentResponse {
  return {
    status: stored.status,
    body: stored.body,
    headers: Object.fromEntries(stored.headers.map((header) => [header.name, header.value])),
  };
}

function _assertTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`TTL must be a positive number of milliseconds: ${ttlMs}`);
  }
}
