import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { overloadedAnswer } from "./error_handler.ts";

export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";

/**
 * Refuses a write at the door (503 `overloaded` with `Retry-After`, nothing read, nothing applied)
 * when its store could take no more now: `full()` is the store's write gate, which counts the
 * refusal as shed. It runs before the body is read and validated, so shedding a burst costs the
 * CPU the admitted writes need as little as it can (the Google SRE book's "shed load early and
 * cheaply"). A request with an Idempotency-Key passes whatever the load: it may be a replay, which
 * is answered from one read and must stay cheap and answered under any load; if it is new, the
 * gate itself still refuses it.
 */
export function shedWrites(
  full: () => boolean,
  dependency = "database",
): MiddlewareHandler<AppEnv> {
  const refuse = overloadedAnswer(dependency);
  return async function shedWrites(c, next) {
    if (c.req.header(IDEMPOTENCY_KEY_HEADER) === undefined && full()) return refuse(c);
    await next();
  };
}
