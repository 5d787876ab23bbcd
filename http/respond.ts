import type { Context } from "hono";
import type { AppEnv } from "./env.ts";
import { JSONAPI_MEDIA_TYPE } from "./jsonapi.ts";
import { REQUEST_ID_HEADER } from "@stockroom/kernel";

/**
 * Every response of both services is built here (the error renderer included), which is what puts
 * `X-Request-ID` on all of them. The headers are a plain record: Deno.serve sends a Response built
 * from a record as it is, while one built from a Headers object (what Hono's `c.body` makes when
 * there is more than one header) is converted first, about a microsecond a response.
 */
export function respond(
  c: Context<AppEnv>,
  status: number,
  body: string | null,
  contentType: string | null,
  extra?: Record<string, string>,
): Response {
  return responseWith(c.get("requestId"), status, body, contentType, extra);
}

/** `respond` for code with a request id but no Hono context (the boot shell). */
export function responseWith(
  requestId: string,
  status: number,
  body: string | null,
  contentType: string | null,
  extra?: Record<string, string>,
): Response {
  const headers: Record<string, string> = { [REQUEST_ID_HEADER]: requestId };
  if (contentType) headers["Content-Type"] = contentType;
  if (extra) Object.assign(headers, extra);
  return new Response(body, { status, headers });
}

/** A JSON:API document (`Content-Type: application/vnd.api+json`). */
export function jsonApiResponse(
  c: Context<AppEnv>,
  status: number,
  json: string,
  extra?: Record<string, string>,
): Response {
  return respond(c, status, json, JSONAPI_MEDIA_TYPE, extra);
}
