/**
 * Conditional requests (RFC 9110 §13): `ETag` on single-resource reads, `If-None-Match` → 304,
 * `If-Match` on changes → 412 when stale. A resource's tag comes from its version (products: a
 * version column; inventory: the ledger sequence), so it changes with every change of state, and
 * the check is made by the store in the same atomic write as the change.
 */
import type { Context } from "hono";
import { ApiError } from "./api_error.ts";
import type { AppEnv } from "./env.ts";

/** What `If-Match` asks of a change: any current representation, or one of these versions. */
export type Precondition = { any: true } | { any: false; versions: string[] };

const TAG = /^\s*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*$/;

/** A strong entity tag for a version, with a variant for a partial representation. */
export function entityTag(version: string, variant?: string): string {
  return variant ? `"${version}-${variant}"` : `"${version}"`;
}

function badHeader(header: string): ApiError {
  return new ApiError(400, {
    code: "invalid_header",
    detail: `${header} must be "*" or a comma-separated list of entity tags such as "v3"`,
    source: { header },
  });
}

/** The tags of an `If-Match`/`If-None-Match` header (`*` as null), or a 400 when malformed. */
function parseTags(header: string, value: string): { weak: boolean; tag: string }[] | null {
  if (value.trim() === "*") return null;
  const parts = value.split(",");
  return parts.map((part) => {
    const match = TAG.exec(part);
    if (!match) throw badHeader(header);
    return { weak: match[1] !== undefined, tag: match[2]! };
  });
}

/**
 * `If-Match` of a change, or undefined without one. Strong comparison: a weak tag never matches
 * (RFC 9110 §13.1.1). A version is the tag of the full representation without its variant.
 */
export function ifMatch(c: Context<AppEnv>): Precondition | undefined {
  const value = c.req.header("If-Match");
  if (value === undefined) return undefined;
  const tags = parseTags("If-Match", value);
  if (tags === null) return { any: true };
  return { any: false, versions: tags.filter((t) => !t.weak).map((t) => t.tag) };
}

/**
 * Whether `If-None-Match` matches the current tag (weak comparison), so a GET answers 304.
 * Parsed before the read, so a malformed header is a 400 that asks the store nothing.
 */
export function ifNoneMatch(c: Context<AppEnv>): (etag: string) => boolean {
  const value = c.req.header("If-None-Match");
  if (value === undefined) return () => false;
  const tags = parseTags("If-None-Match", value);
  if (tags === null) return () => true;
  return (etag) => {
    const current = TAG.exec(etag)?.[2];
    return tags.some((t) => t.tag === current);
  };
}

/** 304 Not Modified: no body, the tag and the request id (RFC 9110 §15.4.5). */
export function notModified(c: Context<AppEnv>, etag: string): Response {
  return c.body(null, 304, { ETag: etag });
}

/** The 412 a stale `If-Match` gets, with the current tag so the client can read and retry. */
export function preconditionFailed(etag: string | undefined): ApiError {
  return new ApiError(412, {
    code: "precondition_failed",
    detail: "If-Match does not match the current version; read the resource again, then retry",
    source: { header: "If-Match" },
  }, etag ? { headers: { ETag: etag } } : {});
}
