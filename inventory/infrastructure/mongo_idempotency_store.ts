import { type Collection, type MongoClient, MongoServerError } from "mongodb";
import type { IdempotentResponse, StoredKey } from "../domain/idempotency.ts";
import type { IdempotencyStore } from "../domain/ports.ts";
import { MAX_TIME_MS } from "./mongo_failures.ts";
import { insertKeepingFirst } from "./mongo_inserts.ts";

/** Every operation carries the server-side limit, so MongoDB aborts one that runs too long. */
const LIMIT = { maxTimeMS: MAX_TIME_MS } as const;

interface KeyDocument {
  _id: string;
  fingerprint: string;
  /**
   * Headers become a list because a header name may contain "." or start with "$"; a list of
   * objects, not of pairs, because FerretDB 1.x rejects nested arrays.
   */
  response: { status: number; body: string; headers: { name: string; value: string }[] };
  expires_at: Date;
}

/** Server error codes meaning "this server has no TTL indexes" (FerretDB 1.x answers 238). */
const NOT_IMPLEMENTED = new Set([115, 238]);
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Answers of keyed requests in the `idempotency_keys` collection (ensures its TTL index). The store
 * never closes `client`: it shares the stock repository's client.
 */
export async function createMongoIdempotencyStore(
  client: MongoClient,
  dbName: string,
): Promise<IdempotencyStore> {
  const collection = client.db(dbName).collection<KeyDocument>("idempotency_keys");
  const hasTtlIndex = await _ensureExpiryIndex(collection);
  let lastSweep = 0;

  /** Without a TTL index (FerretDB) expired keys are removed here, at most once a minute. */
  async function sweep(now: Date): Promise<void> {
    if (hasTtlIndex || now.getTime() - lastSweep < SWEEP_INTERVAL_MS) return;
    lastSweep = now.getTime();
    await collection.deleteMany({ expires_at: { $lte: now } }, LIMIT);
  }

  return {
    async lookup(key) {
      const doc = await collection.findOne({ _id: key }, LIMIT);
      return doc && {
        fingerprint: doc.fingerprint,
        response: _fromStored(doc.response),
        expiresAt: doc.expires_at.getTime(),
      } satisfies StoredKey;
    },

    async record(answers, ttlMs) {
      _assertTtl(ttlMs);
      const now = new Date();
      await sweep(now);
      const docs = answers.map((a): KeyDocument => ({
        _id: a.key,
        fingerprint: a.fingerprint,
        response: _toStored(a.response),
        expires_at: new Date(now.getTime() + ttlMs),
      }));
      // One insert for the batch; a key that holds an answer already keeps it.
      const taken = await insertKeepingFirst(collection, docs, LIMIT);
      if (taken.length === 0) return;
      // An expired answer (not yet swept) gives way to the new one: two commands for the batch,
      // not one per key (FerretDB applies every update by reading the whole collection, so an
      // update per key made a replay storm's recording take seconds).
      const gone = await collection.deleteMany(
        { _id: { $in: taken.map((doc) => doc._id) }, expires_at: { $lte: now } },
        LIMIT,
      );
      if (gone.deletedCount > 0) await insertKeepingFirst(collection, taken, LIMIT);
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

function _toStored(response: IdempotentResponse): KeyDocument["response"] {
  return {
    status: response.status,
    body: response.body,
    headers: Object.entries(response.headers).map(([name, value]) => ({ name, value })),
  };
}

function _fromStored(stored: KeyDocument["response"]): IdempotentResponse {
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
