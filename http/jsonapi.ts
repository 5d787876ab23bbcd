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

/**
 * `scheme://host[:port]` of a request URL, for the links of the documents answering it. Request
 * URLs reach a handler already parsed and serialized by the runtime, so the origin is everything
 * before the path's first slash, with no second parse (0.5 µs of a cached read, commit 19a67c2).
 */
export function requestOrigin(url: string): string {
  const path = url.indexOf("/", url.indexOf("//") + 2);
  return path === -1 ? url : url.slice(0, path);
}

const rendered = new WeakMap<object, { key: string; json: string }>();

/**
 * Speed trick (cached reads, P1): the JSON text of a document about `resource`, made once per
 * object and `key` (the parts of the document that do not come from the object, such as the base
 * URL) and reused while the object lives. Only for objects that are never changed after they are
 * made (the domain's entities are readonly): a cache hit hands back the same object every time,
 * so its document is serialized once. Measured: 1.5–1.7 µs of a cached read (commit 19a67c2).
 */
export function documentJson<T extends object>(
  resource: T,
  key: string,
  render: (resource: T) => unknown,
): string {
  const memo = rendered.get(resource);
  if (memo?.key === key) return memo.json;
  const json = JSON.stringify(render(resource));
  rendered.set(resource, { key, json });
  return json;
}
