import type { MiddlewareHandler } from "hono";
import { requestId as honoRequestId } from "hono/request-id";
import type { AppEnv } from "../app_env.ts";

export const REQUEST_ID_HEADER = "X-Request-ID";
const MAX_LENGTH = 200;
const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * Takes `X-Request-ID` when it is 1–200 printable ASCII characters, otherwise makes a UUID, and
 * echoes it on the response. Hono's built-in does the bookkeeping; only the acceptance rule is
 * ours (the built-in would also reject printable ids such as `trace.1:2`).
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return honoRequestId({
    headerName: "",
    generator: (c) => {
      const given = c.req.header(REQUEST_ID_HEADER)?.trim();
      return given && given.length <= MAX_LENGTH && PRINTABLE.test(given)
        ? given
        : crypto.randomUUID();
    },
  }) as unknown as MiddlewareHandler<AppEnv>;
}

/** Echoes the id; separate from `requestId()` so it also runs on responses built by onError. */
export function echoRequestId(): MiddlewareHandler<AppEnv> {
  return async function echoRequestId(c, next) {
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, c.get("requestId"));
  };
}
