import type { MiddlewareHandler } from "hono";
import { ApiError } from "../api_error.ts";
import type { AppEnv } from "../env.ts";

/** Rejects invalid bytes instead of silently storing U+FFFD in their place. */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });
const METHODS_WITH_BODY = new Set(["POST", "PATCH"]);

function malformed(detail: string): ApiError {
  return new ApiError(400, { code: "invalid_document", detail, source: { pointer: "" } });
}

/**
 * Reads a POST or PATCH body as strict UTF-8 JSON (400 otherwise) and leaves the parsed value in
 * Hono's body cache, where the `json` validator and `c.req.json()` find it: the body is decoded and
 * parsed once. Runs after content negotiation and the body limit.
 */
export function jsonApiBodyReader(): MiddlewareHandler<AppEnv> {
  return async function jsonApiBodyReader(c, next) {
    if (METHODS_WITH_BODY.has(c.req.method)) {
      let text: string;
      try {
        text = STRICT_UTF8.decode(await c.req.arrayBuffer());
      } catch {
        throw malformed("The request body is not valid UTF-8");
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw malformed("The request body is not valid JSON");
      }
      c.req.bodyCache.json = Promise.resolve(body);
    }
    await next();
  };
}
