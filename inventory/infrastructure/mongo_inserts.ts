import { type Collection, MongoServerError, type OptionalUnlessRequiredId } from "mongodb";

const DUPLICATE_KEY = 11000;

/** Whether the write failed only because its `_id` (or another unique key) was taken. */
export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

/**
 * Inserts every document in one unordered `insertMany`; a document whose key is taken is left as
 * it is, and returned. Any other failure is thrown.
 *
 * Once a server is selected, the driver reports any failure of the insert as a MongoBulkWriteError,
 * a connection cut under it included (with no write errors at all, the cause as its message): only
 * a bulk error whose write errors are all duplicate keys, and account for every document not
 * inserted, means the rest is in. Taking "every write error is a duplicate" alone as that (true of
 * an empty list) made a copy that was never sent look done: under store faults the ledger lost
 * movements it had removed from the record, and a cart's undo could no longer find its hold.
 */
export async function insertKeepingFirst<T extends { _id: string }>(
  collection: Collection<T>,
  docs: T[],
  options: { maxTimeMS?: number } = {},
): Promise<T[]> {
  try {
    await collection.insertMany(docs as OptionalUnlessRequiredId<T>[], {
      ordered: false,
      ...options,
    });
    return [];
  } catch (error) {
    const { writeErrors, insertedCount } = error as {
      writeErrors?: { code?: number; index: number }[];
      insertedCount?: number;
    };
    if (writeErrors === undefined) {
      if (isDuplicateKey(error)) return docs;
      throw error;
    }
    const taken = new Set(
      writeErrors.filter((e) => e.code === DUPLICATE_KEY).map((e) => e.index),
    );
    const accounted = taken.size === writeErrors.length && taken.size > 0 &&
      (insertedCount === undefined || insertedCount + taken.size === docs.length);
    if (!accounted) throw error;
    return docs.filter((_, i) => taken.has(i));
  }
}
