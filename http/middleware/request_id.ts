import type { MiddlewareHandler } from "hono";
import { requestId as honoRequestId } from "hono/request-id";
import type { AppEnv } from "../env.ts";
import { REQUEST_ID_HEADER, requestIdFrom } from "@stockroom/kernel";

const MAX_REQUEST_ID_LENGTH = 200;

/**
 * Hono's built-in: takes `X-Request-ID`, sets it for the request and echoes it on every response,
 * errors included. Its own rule admits only word characters, `-` and `=`; when that rule refuses
 * an id, ours decides (1–200 printable ASCII characters, trimmed, else a new UUID), so `trace.1:2`
 * is kept.
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return honoRequestId({
    headerName: REQUEST_ID_HEADER,
    limitLength: MAX_REQUEST_ID_LENGTH,
    generator: (c) => requestIdFrom(c.req.header(REQUEST_ID_HEADER)),
  }) as unknown as MiddlewareHandler<AppEnv>;
}
