import type { MiddlewareHandler } from "hono";
import { requestId as honoRequestId } from "hono/request-id";
import type { AppEnv } from "../env.ts";
import { REQUEST_ID_HEADER, requestIdFrom } from "@stockroom/kernel";

/**
 * Takes `X-Request-ID` when it is 1–200 printable ASCII characters, otherwise makes a UUID (so
 * `trace.1:2` is kept, which Hono's own rule would replace). Hono's built-in does the bookkeeping;
 * every response echoes the id through respond().
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return honoRequestId({
    // Empty: Hono neither reads nor sets the header itself; the generator reads it, and respond()
    // (shared/respond.ts) echoes it on every response.
    headerName: "",
    generator: (c) => requestIdFrom(c.req.header(REQUEST_ID_HEADER)),
  }) as unknown as MiddlewareHandler<AppEnv>;
}
