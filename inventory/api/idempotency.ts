import type { Context, MiddlewareHandler } from "hono";
import { ApiError, type AppEnv } from "@stockroom/http";
import { DependencyUnavailableError, OutcomeUnknownError } from "@stockroom/kernel";
import {
  classifyClaim,
  type IdempotencyClaim,
  type IdempotentResponse,
  type StoredKey,
} from "../domain/idempotency.ts";
import type { IdempotencyStore } from "../domain/ports.ts";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const TTL_MS = 24 * 60 * 60 * 1000;
/**
 * A claim is a lease, not a 24 h lock: if its owner dies (or cannot tell what happened), the key
 * frees itself well before a client gives up retrying, and the next owner learns from the stock
 * record's operation key whether the change was applied. Longer than any request can take.
 */
export const CLAIM_LEASE_MS = 12_000;
/** Responses kept for a replay; everything else is recomputed by the caller's client. */
const REPLAYED_HEADERS = ["content-type", "location"];

export interface IdempotencyOptions {
  store: IdempotencyStore;
}

async function fingerprint(method: string, path: string, body: ArrayBuffer): Promise<string> {
  const head = new TextEncoder().encode(`${method}\n${path}\n`);
  const bytes = new Uint8Array(head.length + body.byteLength);
  bytes.set(head);
  bytes.set(new Uint8Array(body), head.length);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Built through the context, so the replay carries this request's own X-Request-ID. */
function replay(c: Context<AppEnv>, response: IdempotentResponse): Response {
  const headers = { ...response.headers, "Idempotent-Replayed": "true" };
  return response.body === ""
    ? c.body(null, response.status as 204, headers)
    : c.body(response.body, response.status as 200, headers);
}

/** What a key that is not free means for this request: a replay, or why it cannot run now. */
function answer(
  c: Context<AppEnv>,
  verdict: Exclude<IdempotencyClaim, { state: "claimed" }>,
  stored: StoredKey | null,
): Response {
  if (verdict.state === "completed") return replay(c, verdict.response);
  if (verdict.state === "mismatch") {
    throw new ApiError(422, {
      code: "idempotency_key_reused",
      detail: "This Idempotency-Key was used with a different request",
      source: { header: IDEMPOTENCY_HEADER },
    });
  }
  // In progress: answered at once (twins never queue behind each other), with the lease's end.
  const leaseLeftMs = stored ? stored.expiresAt - Date.now() : CLAIM_LEASE_MS;
  throw new ApiError(409, {
    code: "idempotency_key_in_progress",
    detail: "A request with this Idempotency-Key is still being processed; retry after " +
      "Retry-After seconds",
    source: { header: IDEMPOTENCY_HEADER },
  }, { headers: { "Retry-After": String(Math.max(1, Math.ceil(leaseLeftMs / 1000))) } });
}

/**
 * Frees a claim whose request certainly applied nothing (it was refused with a 503), so a retry
 * runs at once. If the store is down right then, keeps trying in the background while the lease
 * is surely still ours; never after, when the key may be another request's.
 */
async function release(store: IdempotencyStore, key: string, claimedAt: number): Promise<void> {
  const stopBy = claimedAt + CLAIM_LEASE_MS - 1000;
  for (let delay = 250;; delay = Math.min(delay * 2, 1000)) {
    try {
      await store.release(key);
      return;
    } catch {
      if (Date.now() + delay >= stopBy) return;
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * `Idempotency-Key` on POST and PATCH. A retry of a finished key costs one read of the key and
 * gets the first answer back with `Idempotent-Replayed: true`, changing nothing; another body under
 * the same key is a 422; a twin arriving while the first still runs gets a 409 with `Retry-After`
 * at once. The first answer (any status below 500) is kept 24 h.
 *
 * After a 503 nothing was applied, so the claim is released. After a 504 or a 500 the change may
 * have been applied: the claim is kept until its lease runs out, and the retry that takes it over
 * learns the truth from the operation key the store recorded with the change.
 */
export function idempotency(options: IdempotencyOptions): MiddlewareHandler<AppEnv> {
  const { store } = options;
  return async function idempotency(c, next) {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    if (key === undefined || (c.req.method !== "POST" && c.req.method !== "PATCH")) {
      return await next();
    }
    if (!KEY_PATTERN.test(key)) {
      throw new ApiError(400, {
        code: "invalid_idempotency_key",
        detail: "Idempotency-Key must be 1–255 visible ASCII characters",
        source: { header: IDEMPOTENCY_HEADER },
      });
    }
    const print = await fingerprint(c.req.method, c.req.path, await c.req.arrayBuffer());
    const stored = await store.lookup(key);
    const verdict = classifyClaim(stored, print, Date.now());
    if (verdict !== "free") return answer(c, verdict, stored);
    let claim: IdempotencyClaim;
    try {
      claim = await store.claim(key, print, CLAIM_LEASE_MS);
    } catch (err) {
      // Only the bookkeeping is in doubt, never the stock: nothing was applied yet.
      if (err instanceof OutcomeUnknownError) {
        throw new DependencyUnavailableError("database", { cause: err });
      }
      throw err;
    }
    if (claim.state !== "claimed") return answer(c, claim, await store.lookup(key));
    const claimedAt = Date.now();
    await next();
    const status = c.res.status;
    if (status === 503) {
      void release(store, key, claimedAt);
      return;
    }
    if (status >= 500) return;
    const body = await c.res.clone().text();
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = c.res.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    try {
      await store.complete(key, { status, body, headers }, TTL_MS);
    } catch (err) {
      // The change stands and this answer is true: a retry after the lease is settled by the
      // operation key the store recorded with the change.
      c.get("logger").warn(
        { error: String((err as Error)?.message ?? err) },
        "idempotency.complete_failed",
      );
    }
  };
}
