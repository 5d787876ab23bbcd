import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../api_error.ts";
import { JSONAPI_MEDIA_TYPE } from "../jsonapi.ts";

const METHODS_WITH_BODY = new Set(["POST", "PATCH"]);

interface MediaRange {
  type: string;
  params: string[];
}

/** Splits on `separator` outside double-quoted strings (a profile URI may contain `;` or `,`). */
function splitUnquoted(value: string, separator: ";" | ","): string[] {
  return value.match(separator === ";" ? /(?:[^;"]|"[^"]*"?)+/g : /(?:[^,"]|"[^"]*"?)+/g) ?? [];
}

function parseMediaRange(value: string): MediaRange {
  const [type = "", ...params] = splitUnquoted(value, ";").map((part) => part.trim());
  return {
    type: type.toLowerCase(),
    params: params.filter(Boolean).map((p) => p.split("=")[0]!.trim().toLowerCase()),
  };
}

/**
 * We support no extensions, so `ext` is as unacceptable as any foreign parameter; `profile` may be
 * ignored (JSON:API 1.1 §5.2), and `q` is the Accept weight, not a media type parameter.
 */
function hasForeignParams(range: MediaRange, allowed: readonly string[]): boolean {
  return range.params.some((p) => !allowed.includes(p));
}

/**
 * JSON:API 1.1 content negotiation: 415 for a request body that is not plain
 * `application/vnd.api+json`, 406 when every JSON:API entry of `Accept` carries parameters. A
 * `Content-Type` on a body-less GET or DELETE is ignored.
 */
export function jsonApiContentNegotiation(): MiddlewareHandler<AppEnv> {
  return async function jsonApiContentNegotiation(c, next) {
    if (METHODS_WITH_BODY.has(c.req.method)) {
      const contentType = c.req.header("Content-Type");
      const range = contentType ? parseMediaRange(contentType) : undefined;
      if (!range || range.type !== JSONAPI_MEDIA_TYPE || hasForeignParams(range, ["profile"])) {
        throw new ApiError(415, {
          code: "unsupported_media_type",
          detail: `Request bodies must be sent as Content-Type: ${JSONAPI_MEDIA_TYPE}` +
            " without media type parameters",
          source: { header: "Content-Type" },
        });
      }
    }
    const accept = c.req.header("Accept");
    // Without a `;` no media range carries parameters, so none can be refused: most clients send
    // a plain `application/vnd.api+json` or `*/*`, and skip the parse.
    if (accept?.includes(";")) {
      const jsonApiRanges = splitUnquoted(accept, ",").map(parseMediaRange).filter((r) =>
        r.type === JSONAPI_MEDIA_TYPE
      );
      if (
        jsonApiRanges.length > 0 &&
        jsonApiRanges.every((r) => hasForeignParams(r, ["profile", "q"]))
      ) {
        throw new ApiError(406, {
          code: "not_acceptable",
          detail: `Accept must allow ${JSONAPI_MEDIA_TYPE} without media type parameters`,
          source: { header: "Accept" },
        });
      }
    }
    await next();
  };
}
