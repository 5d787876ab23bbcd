import type { MiddlewareHandler } from "hono";
import { requestId as honoRequestId } from "hono/request-id";
import type { AppEnv } from "../app_env.ts";

export const REQUEST_ID_HEADER = "X-Request-ID";
const MAX_LENGTH = 200;
const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * Takes `X-Request-ID` when it is 1–200 printable ASCII characters, otherwise makes a UUID, and
 * echoes it on the response. Hono's built-in does the bookkeeping: it accepts ids of word
 * characters, `-` and `=` itself and asks our generator about any other, which widens the rule to
 * printable ASCII (so `trace.1:2` is kept). The echo is a prepared header, so every response
 * built through the context carries it, error documents from onError included.
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return honoRequestId({
    headerName: REQUEST_ID_HEADER,
    limitLength: MAX_LENGTH,
    generator: (c) => {
      const given = c.req.header(REQUEST_ID_HEADER)?.trim();
      return given && given.length <= MAX_LENGTH && PRINTABLE.test(given)
        ? given
        : crypto.randomUUID();
    },
  }) as unknown as MiddlewareHandler<AppEnv>;
}
