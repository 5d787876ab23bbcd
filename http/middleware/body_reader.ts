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
 * Refuses a POST or PATCH body that is not strict UTF-8 JSON with our own 400 (Hono's `json`
 * validator would decode invalid bytes as U+FFFD and answer malformed JSON with its own error).
 * Hono keeps the bytes read here, and the validator decodes and parses them again from that copy:
 * a second parse of a write's body, which costs far less than the write. Runs after content
 * negotiation and the body limit.
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
      try {
        JSON.parse(text);
      } catch {
        throw malformed("The request body is not valid JSON");
      }
    }
    await next();
  };
}
