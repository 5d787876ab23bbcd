/** Idempotency keys: what a store keeps for one, and how a new claim on it is decided. */

/** A stored response for an Idempotency-Key, scoped by the key and the request fingerprint. */
export interface IdempotentResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

export type IdempotencyClaim =
  | { state: "claimed" }
  | { state: "in_progress" }
  | { state: "completed"; fingerprint: string; response: IdempotentResponse }
  | { state: "mismatch" };

/** What a store holds for a key, in the store's own shape translated to this one. */
export interface StoredKey {
  fingerprint: string;
  state: "in_progress" | "completed";
  response?: IdempotentResponse;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/**
 * How a claim with `fingerprint` meets what is stored: `free` when nothing live holds the key
 * (absent or expired), so the claim may take it; otherwise what the caller is told.
 */
export function classifyClaim(
  stored: StoredKey | null,
  fingerprint: string,
  nowMs: number,
): Exclude<IdempotencyClaim, { state: "claimed" }> | "free" {
  if (stored === null || stored.expiresAt <= nowMs) return "free";
  if (stored.fingerprint !== fingerprint) return { state: "mismatch" };
  if (stored.state === "completed" && stored.response) {
    return { state: "completed", fingerprint: stored.fingerprint, response: stored.response };
  }
  return { state: "in_progress" };
}
