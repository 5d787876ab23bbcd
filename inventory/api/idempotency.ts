import { createHash } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { ApiError, type AppEnv } from "@stockroom/http";
import { classifyKey, type IdempotentResponse } from "../domain/idempotency.ts";
import type { IdempotencyStore, KeyedAnswer } from "../domain/ports.ts";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** How long a key's answer is kept. */
export const KEY_TTL_MS = 24 * 60 * 60 * 1000;
/** Response headers kept for a replay; everything else is recomputed by the caller's client. */
const REPLAYED_HEADERS = ["content-type", "location", "etag"];

/** The request's key, for the route to record with the change it makes. */
export type InventoryEnv = AppEnv & {
  Variables: { idempotency?: { key: string; fingerprint: string } };
};

export interface IdempotencyOptions {
  store: IdempotencyStore;
  /** Keeps answers after they were given (batched, off the request's path). */
  remember: (answer: KeyedAnswer) => void;
}

/**
 * SHA-256 of the method, path and body, in hex. node:crypto hashes on the calling thread: Web
 * Crypto's digest is handed to a worker thread and back, 75 µs a call against 2 µs measured for
 * a purchase's body, and it was 5 % of a keyed purchase's CPU in a profile (P3k).
 */
function fingerprint(method: string, path: string, body: ArrayBuffer): string {
  return createHash("sha256").update(`${method}\n${path}\n`).update(new Uint8Array(body))
    .digest("hex");
}

/** Built through the context, so the replay carries this request's own X-Request-ID. */
export function replay(c: Context, response: IdempotentResponse): Response {
  const headers = { ...response.headers, "Idempotent-Replayed": "true" };
  return response.body === ""
    ? c.body(null, response.status as 204, headers)
    : c.body(response.body, response.status as 200, headers);
}

export function keyReused(): ApiError {
  return new ApiError(422, {
    code: "idempotency_key_reused",
    detail: "This Idempotency-Key was used with a different request",
    source: { header: IDEMPOTENCY_HEADER },
  });
}

/**
 * `Idempotency-Key` on POST and PATCH. A retry of a key whose answer is kept costs one read and
 * gets that answer back with `Idempotent-Replayed: true`; another body under the same key is a
 * 422. Otherwise the request runs with its key: a change records it in the same atomic write as
 * itself, so concurrent twins and a retry after a lost answer (or a killed instance) are answered
 * from that change's movement, never applied twice. Nobody waits for anybody: there are no claims.
 * Every answer below 500 is then kept for 24 h (a refusal before it is given).
 */
export function idempotency(options: IdempotencyOptions): MiddlewareHandler<InventoryEnv> {
  const { store, remember } = options;
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
    const print = fingerprint(c.req.method, c.req.path, await c.req.arrayBuffer());
    const verdict = classifyKey(await store.lookup(key), print, Date.now());
    if (verdict.state === "replay") return replay(c, verdict.response);
    if (verdict.state === "mismatch") throw keyReused();
    c.set("idempotency", { key, fingerprint: print });
    await next();
    const status = c.res.status;
    // A 5xx is no answer to keep: nothing was applied (503), or the change's own record of the
    // key will answer the retry (504).
    if (status >= 500) return;
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = c.res.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const body = await c.res.clone().text();
    const answer = { key, fingerprint: print, response: { status, body, headers } };
    if (status < 300) {
      // The change's movement answers a retry already; keeping the answer too only makes the
      // retry cheaper, so it is batched off the request's path.
      remember(answer);
      return;
    }
    // A refusal changed nothing and has no movement: kept before it is given, so a retry gets
    // this first answer even if the stock has changed since.
    await store.record([answer], KEY_TTL_MS).catch((err) => {
      c.get("logger").warn(
        { error: String((err as Error)?.message ?? err) },
        "idempotency.record_failed",
      );
    });
  };
}
