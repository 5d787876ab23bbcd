/**
 * The JSON Schemas of the OpenAPI documents: request and response documents built from the zod
 * schemas that validate requests, query and conditional-request parameters, and the components
 * every document shares. Response schemas describe what the services send, member by member
 * (`additionalProperties: false`), so a validating proxy flags anything a service sends that its
 * document does not say.
 */
import { z } from "zod";
import { JSONAPI_MEDIA_TYPE } from "./jsonapi.ts";
import { MAX_PAGE_SIZE, type QuerySpec } from "./query.ts";

export type Schema = Record<string, unknown>;

/** The resource a response carries: its type, the zod schema of its attributes, its relationships. */
export interface ResourceDoc {
  type: string;
  attributes: z.ZodType;
  /**
   * Relationships: name → the type of the related resource (to-one, with `data`), or `null` for
   * one given by its `related` link alone (a to-many too large to list, such as a ledger).
   */
  relationships?: Record<string, string | null>;
  collection?: boolean;
}

export function schemaOf(type: z.ZodType, io: "input" | "output"): Schema {
  const { $schema: _, ...schema } = z.toJSONSchema(type, { io, unrepresentable: "any" });
  return schema;
}

/** The query parameters a route takes, from the spec it validates its query with. */
export function queryParameters(spec: QuerySpec | undefined): Record<string, unknown>[] {
  if (!spec) return [];
  const params: Record<string, unknown>[] = [];
  const add = (name: string, description: string, schema: Record<string, unknown>) =>
    params.push({ name, in: "query", required: false, description, schema });
  if (spec.cursor) {
    add("page[after]", "Cursor: the position of the last item seen (0 for the first page)", {
      type: "integer",
      minimum: 0,
      default: 0,
    });
  }
  if (spec.paginated) {
    add("page[number]", "Page number, from 1", { type: "integer", minimum: 1, default: 1 });
  }
  if (spec.paginated || spec.cursor) {
    add("page[size]", "Page size", {
      type: "integer",
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      default: 20,
    });
  }
  if (spec.sortable) {
    add("sort", `Comma-separated fields, \`-\` for descending: ${spec.sortable.join(", ")}`, {
      type: "string",
    });
  }
  for (const [name, schema] of Object.entries(spec.filters ?? {})) {
    add(`filter[${name}]`, `Filter on ${name}`, schemaOf(schema, "input"));
  }
  for (const [type, fields] of Object.entries(spec.fields ?? {})) {
    add(`fields[${type}]`, `Sparse fieldset: comma-separated of ${fields.join(", ")}`, {
      type: "string",
    });
  }
  if (spec.includable) {
    add("include", `Related resources: ${spec.includable.join(", ")}`, {
      type: "string",
      enum: spec.includable,
    });
  }
  return params;
}

/** The request headers of conditional requests (see `OperationDoc.conditional`). */
export function conditionalParameters(kind: "read" | "write" | undefined): Schema[] {
  if (!kind) return [];
  const [name, description] = kind === "read"
    ? [
      "If-None-Match",
      "Entity tags (or `*`) of representations the client has: when one is current, 304 " +
      "without a body. Compared weakly",
    ]
    : [
      "If-Match",
      "Entity tags (or `*`, the resource need only exist) of the version the change is meant for: " +
      "when none is current, 412 and nothing changes. Compared strongly (a weak tag never " +
      "matches), by the store in the same atomic write as the change",
    ];
  return [{ name, in: "header", required: false, description, schema: { type: "string" } }];
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const uri = { type: "string", format: "uri" };
const strict = (properties: Schema, required: string[] = Object.keys(properties)) => ({
  type: "object",
  additionalProperties: false,
  ...(required.length > 0 ? { required } : {}),
  properties,
});

export const jsonApiContent = (schema: unknown) => ({ [JSONAPI_MEDIA_TYPE]: { schema } });

/** A request document's resource object: the attributes exactly as the route's zod schema takes. */
export function requestResource(type: string, attributes: z.ZodType, id: boolean): Schema {
  return {
    type: "object",
    required: id ? ["type", "id"] : ["type"],
    properties: {
      type: { const: type },
      id: { type: "string", format: "uuid" },
      attributes: schemaOf(attributes, "input"),
    },
  };
}

function relationship(type: string | null): Schema {
  if (type === null) return strict({ links: ref("RelationshipLinks") });
  return strict({
    data: strict({ type: { const: type }, id: { type: "string", format: "uuid" } }),
    links: ref("RelationshipLinks"),
  }, ["data"]);
}

/**
 * A resource object as sent. `sparse`: the operation takes `fields[type]`, which can leave out any
 * attribute and relationship, so none of them is required there; everywhere else all are sent.
 */
export function responseResource(resource: ResourceDoc, sparse: boolean): Schema {
  const attributes = schemaOf(resource.attributes, "output");
  if (sparse) delete attributes.required;
  const names = Object.keys(resource.relationships ?? {});
  const relationships = names.length === 0 ? undefined : strict(
    Object.fromEntries(names.map((n) => [n, relationship(resource.relationships![n]!)])),
    sparse ? [] : names,
  );
  const properties: Schema = {
    type: { const: resource.type },
    id: { type: "string", format: "uuid" },
    attributes,
    ...(relationships ? { relationships } : {}),
    links: ref("SelfLink"),
  };
  const required = ["type", "id", "attributes", "links"];
  if (relationships && !sparse) required.push("relationships");
  return strict(properties, required);
}

/**
 * The document of a 200/201: one resource or a page of them (pagination links and the total),
 * with `included` where the operation takes `include` — the related services' own resource objects
 * of the included types.
 */
export function resourceDocumentSchema(
  resource: ResourceDoc,
  options: { sparse: boolean; includedTypes?: string[] },
): Schema {
  const data = responseResource(resource, options.sparse);
  const collection = resource.collection === true;
  const included = options.includedTypes && {
    type: "array",
    items: {
      type: "object",
      required: ["type", "id"],
      properties: {
        type: { enum: options.includedTypes },
        id: { type: "string" },
        attributes: { type: "object" },
        relationships: { type: "object" },
        links: { type: "object" },
        meta: { type: "object" },
      },
    },
  };
  return strict({
    jsonapi: ref("JsonApi"),
    data: collection ? { type: "array", items: data } : data,
    ...(included ? { included } : {}),
    links: collection ? ref("PaginationLinks") : ref("SelfLink"),
    ...(collection ? { meta: ref("CollectionMeta") } : {}),
  }, ["jsonapi", "data", "links", ...(collection ? ["meta"] : [])]);
}

/** A strong entity tag (RFC 9110 §8.8.3): quoted, no weakness prefix. */
const ETAG = { type: "string", pattern: '^"[!#-~]*"$' };

/** The headers every response carries, Location, and those of conditional requests. */
export const headerComponents: Record<string, Schema> = {
  RequestId: {
    description: "The request's X-Request-ID when it was 1–200 printable ASCII characters, " +
      "otherwise a generated UUID",
    required: true,
    schema: { type: "string", minLength: 1, maxLength: 200 },
  },
  Location: {
    description: "The URL of the new resource",
    required: true,
    schema: uri,
  },
  RetryAfter: {
    description: "Seconds to wait before trying again: nothing was applied (503, the store is " +
      "unavailable or the instance is overloaded)",
    required: true,
    schema: { type: "string", pattern: "^[0-9]+$" },
  },
  ETag: {
    description: "The strong entity tag of the representation sent (or, with 304, of the current " +
      "one); it changes whenever the resource does. Send it back in If-None-Match or If-Match",
    required: true,
    schema: ETAG,
  },
  CurrentETag: {
    description: "The entity tag of the resource's current representation, to read it and retry",
    required: false,
    schema: ETAG,
  },
  RetryAfterInProgress: {
    description: "When a request with the same Idempotency-Key is still running (409 " +
      "idempotency_key_in_progress): seconds until its claim runs out",
    required: false,
    schema: { type: "string", pattern: "^[0-9]+$" },
  },
};

const upOrDown = { enum: ["up", "down"] };

export const schemaComponents: Record<string, Schema> = {
  JsonApi: strict({ version: { const: "1.1" } }),
  SelfLink: strict({ self: uri }),
  RelationshipLinks: strict({ related: uri, self: uri }, []),
  PaginationLinks: strict({
    self: uri,
    first: uri,
    prev: { oneOf: [uri, { type: "null" }] },
    next: { oneOf: [uri, { type: "null" }] },
    last: uri,
  }),
  CollectionMeta: strict({ total: { type: "integer", minimum: 0 } }),
  Errors: strict({
    jsonapi: ref("JsonApi"),
    errors: {
      type: "array",
      minItems: 1,
      items: strict({
        status: { type: "string", pattern: "^[1-5][0-9][0-9]$" },
        code: { type: "string" },
        title: { type: "string" },
        detail: { type: "string" },
        source: strict({
          pointer: { type: "string" },
          parameter: { type: "string" },
          header: { type: "string" },
        }, []),
        meta: { type: "object" },
      }, ["status", "code", "title", "detail"]),
    },
  }, ["jsonapi", "errors"]),
  Liveness: strict({
    meta: strict({ status: { const: "ok" }, service: { type: "string" } }),
  }),
  Readiness: strict({
    meta: strict({
      status: { enum: ["ready", "degraded", "unavailable", "draining"] },
      service: { type: "string" },
      dependencies: { type: "object", additionalProperties: upOrDown },
    }),
  }),
};
