import type { Context, MiddlewareHandler } from "hono";
import { ApiError, type AppEnv, respond } from "@stockroom/http";
import type { IdempotencyStore } from "../domain/ports.ts";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const TTL_MS = 24 * 60 * 60 * 1000;
/**
 * A claim is a lease, not a 24 h lock: if the request dies (or the store fails) before its answer
 * is saved, the key frees itself well before a client gives up retrying. Longer than any request
 * can take (store and products budgets are 5 s each).
 */
const CLAIM_LEASE_MS = 12_000;
/** Responses kept for a replay; everything else is recomputed by the caller's client. */
const REPLAYED_HEADERS = ["content-type", "location"];

export interface IdempotencyOptions {
  store: IdempotencyStore;
  /** How long a request waits for a concurrent twin with the same key to finish. */
  waitMs?: number;
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
function replay(
  c: Context<AppEnv>,
  response: { status: number; body: string; headers: Record<string, string> },
) {
  return respond(c, response.status, response.body || null, null, {
    ...response.headers,
    "Idempotent-Replayed": "true",
  });
}

/**
 * Frees a claim whose request produced no answer to keep. If the store is down right then, keeps
 * trying in the background while the lease is surely still ours, so a client retrying after the
 * store recovers is not held up until the lease runs out; never after, when the key may be another
 * request's.
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
 * `Idempotency-Key` on POST and PATCH: the first answer (any status below 500) is stored with the
 * key for 24 h in the inventory store; a retry with the same body gets it back with
 * `Idempotent-Replayed: true` and changes nothing; another body under the same key is a 422. A twin
 * arriving while the first is still running waits for its answer.
 */
export function idempotency(options: IdempotencyOptions): MiddlewareHandler<AppEnv> {
  // Long enough to outlast a claim whose owner vanished: a claim written during a store outage can
  // be applied although its request saw a failure, and then only its lease ends it. A twin of a
  // live request waits only as long as that request takes.
  const waitMs = options.waitMs ?? CLAIM_LEASE_MS + 1000;
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
    const deadline = Date.now() + waitMs;
    for (let delay = 10;; delay = Math.min(delay * 2, 200)) {
      const claim = await options.store.claim(key, print, CLAIM_LEASE_MS);
      if (claim.state === "claimed") break;
      if (claim.state === "completed") return replay(c, claim.response);
      if (claim.state === "mismatch") {
        throw new ApiError(422, {
          code: "idempotency_key_reused",
          detail: "This Idempotency-Key was used with a different request",
          source: { header: IDEMPOTENCY_HEADER },
        });
      }
      if (Date.now() + delay > deadline) {
        throw new ApiError(409, {
          code: "idempotency_key_in_progress",
          detail: "A request with this Idempotency-Key is still being processed; retry later",
          source: { header: IDEMPOTENCY_HEADER },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const claimedAt = Date.now();
    try {
      await next();
    } catch (err) {
      void release(options.store, key, claimedAt);
      throw err;
    }
    if (c.res.status >= 500) {
      // Nothing was applied (or we cannot tell): let a retry run again rather than replay a fault.
      void release(options.store, key, claimedAt);
      return;
    }
    const body = await c.res.clone().text();
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = c.res.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    await options.store.complete(key, { status: c.res.status, body, headers }, TTL_MS);
  };
}
