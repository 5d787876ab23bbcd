/**
 * Idempotency keys. A change made under a key is recorded with the change itself (its movement),
 * so the store answers a retry of it; what this store keeps is every other answer (a refusal, a
 * validation error), and the answers of changes too, so that a retry costs one read.
 */

/** A stored response for an Idempotency-Key, scoped by the key and the request fingerprint. */
export interface IdempotentResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** What a store holds for a key, in the store's own shape translated to this one. */
export interface StoredKey {
  fingerprint: string;
  response: IdempotentResponse;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export type KeyVerdict =
  | { state: "new" }
  | { state: "replay"; response: IdempotentResponse }
  | { state: "mismatch" };

/** What a request with `fingerprint` under a key makes of what is stored for it. */
export function classifyKey(
  stored: StoredKey | null,
  fingerprint: string,
  nowMs: number,
): KeyVerdict {
  if (stored === null || stored.expiresAt <= nowMs) return { state: "new" };
  if (stored.fingerprint !== fingerprint) return { state: "mismatch" };
  return { state: "replay", response: stored.response };
}
