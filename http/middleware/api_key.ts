import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../api_error.ts";

export const API_KEY_HEADER = "X-API-Key";

export interface ApiKeyOptions {
  key: string;
}

const encoder = new TextEncoder();

/**
 * Requires `X-API-Key` equal to the configured key, compared in constant time with Node's built-in
 * `timingSafeEqual` (synchronous; Hono's is asynchronous and hashes both sides first). A key of
 * another length is compared against the key itself, so every check does the same work: timing
 * can tell only whether the length was right, never how much of the key was.
 */
export function apiKey(options: ApiKeyOptions): MiddlewareHandler<AppEnv> {
  const expected = encoder.encode(options.key);
  return async function apiKey(c, next) {
    const given = c.req.header(API_KEY_HEADER);
    const bytes = given === undefined ? expected : encoder.encode(given);
    const sameLength = bytes.length === expected.length;
    const equal = timingSafeEqual(sameLength ? bytes : expected, expected) && sameLength;
    if (given === undefined || !equal) {
      throw new ApiError(401, {
        code: "unauthorized",
        detail: given === undefined
          ? "The X-API-Key header is required"
          : "The X-API-Key header is not valid",
        source: { header: API_KEY_HEADER },
      });
    }
    await next();
  };
}
