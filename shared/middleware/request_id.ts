import type { MiddlewareHandler } from "hono";
import { requestId as honoRequestId } from "hono/request-id";
import type { AppEnv } from "../app_env.ts";
import { MAX_REQUEST_ID_LENGTH, REQUEST_ID_HEADER, requestIdFrom } from "../request_ids.ts";

export { REQUEST_ID_HEADER };

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
    limitLength: MAX_REQUEST_ID_LENGTH,
    generator: (c) => requestIdFrom(c.req.header(REQUEST_ID_HEADER)),
  }) as unknown as MiddlewareHandler<AppEnv>;
}
