/** JSON:API document helpers shared by both services. */

export const JSONAPI_MEDIA_TYPE = "application/vnd.api+json";

export interface ErrorSource {
  pointer?: string;
  parameter?: string;
  header?: string;
}

export interface ErrorObject {
  status: string;
  code: string;
  title: string;
  detail: string;
  source?: ErrorSource;
  meta?: Record<string, unknown>;
}

export interface ResourceObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  relationships?: Record<string, unknown>;
  links?: { self: string };
}

/** Escapes one JSON Pointer segment (RFC 6901). */
export function pointerSegment(segment: PropertyKey): string {
  return String(segment).replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Keeps only the listed attributes when a sparse fieldset was requested. */
export function sparse(
  attributes: Record<string, unknown>,
  fields: readonly string[] | undefined,
): Record<string, unknown> {
  if (!fields) return attributes;
  const picked: Record<string, unknown> = {};
  for (const field of fields) {
    if (field in attributes) picked[field] = attributes[field];
  }
  return picked;
}

export interface Pagination {
  number: number;
  size: number;
  total: number;
}

/**
 * A collection document: pagination links keep every query parameter of the request and only
 * replace `page[number]`/`page[size]`.
 */
export function collectionDocument(
  data: ResourceObject[],
  requestUrl: string,
  page: Pagination,
  extra: { included?: ResourceObject[] } = {},
): Record<string, unknown> {
  const last = Math.max(1, Math.ceil(page.total / page.size));
  const link = (n: number) => {
    const url = new URL(requestUrl);
    url.searchParams.set("page[number]", String(n));
    url.searchParams.set("page[size]", String(page.size));
    return url.toString();
  };
  return {
    jsonapi: { version: "1.1" },
    data,
    ...(extra.included ? { included: extra.included } : {}),
    links: {
      self: link(page.number),
      first: link(1),
      prev: page.number > 1 ? link(Math.min(page.number - 1, last)) : null,
      next: page.number < last ? link(page.number + 1) : null,
      last: link(last),
    },
    meta: { total: page.total },
  };
}

export function resourceDocument(
  data: ResourceObject,
  extra: { included?: ResourceObject[] } = {},
): Record<string, unknown> {
  return {
    jsonapi: { version: "1.1" },
    data,
    ...(extra.included ? { included: extra.included } : {}),
    links: data.links ? { self: data.links.self } : undefined,
  };
}

export function errorDocument(errors: ErrorObject[]): Record<string, unknown> {
  return { jsonapi: { version: "1.1" }, errors };
}
