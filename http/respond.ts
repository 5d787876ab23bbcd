import type { Context } from "hono";
import type { AppEnv } from "./env.ts";
import { JSONAPI_MEDIA_TYPE } from "./jsonapi.ts";

/**
 * A JSON:API document (`Content-Type: application/vnd.api+json`) from its JSON text; Hono adds the
 * headers set earlier in the request (`X-Request-ID`).
 */
export function jsonApiResponse(
  c: Context<AppEnv>,
  status: number,
  json: string,
  extra?: Record<string, string>,
): Response {
  return c.body(json, status as 200, { "Content-Type": JSONAPI_MEDIA_TYPE, ...extra });
}
