import { type Collection, MongoServerError, type OptionalUnlessRequiredId } from "mongodb";

const DUPLICATE_KEY = 11000;

/** Whether the write failed only because its `_id` (or another unique key) was taken. */
export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

/**
 * Inserts every document in one unordered `insertMany`; a document whose key is taken is left as
 * it is, and returned. Any other failure is thrown.
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
    const writeErrors = (error as { writeErrors?: { code?: number; index: number }[] })
      .writeErrors;
    if (writeErrors === undefined) {
      if (isDuplicateKey(error)) return docs;
      throw error;
    }
    if (!writeErrors.every((e) => e.code === DUPLICATE_KEY)) throw error;
    const taken = new Set(writeErrors.map((e) => e.index));
    return docs.filter((_, i) => taken.has(i));
  }
}
