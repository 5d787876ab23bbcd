/**
 * The JSON Schemas of the OpenAPI documents: request and response documents built from the zod
 * schemas that validate requests, and the components every document shares. Response schemas
 * describe what the services send, member by member (`additionalProperties: false`), so a
 * validating proxy flags anything a service sends that its document does not say.
 */
import { z } from "zod";
import { JSONAPI_MEDIA_TYPE } from "./jsonapi.ts";

export type Schema = Record<string, unknown>;

/** The resource a response carries: its type, the zod schema of its attributes, its relationships. */
export interface ResourceDoc {
  type: string;
  attributes: z.ZodType;
  /** To-one relationships: name → the type of the related resource. */
  relationships?: Record<string, string>;
  collection?: boolean;
}

export function schemaOf(type: z.ZodType, io: "input" | "output"): Schema {
  const { $schema: _, ...schema } = z.toJSONSchema(type, { io, unrepresentable: "any" });
  return schema;
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

function toOne(type: string): Schema {
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
    Object.fromEntries(names.map((n) => [n, toOne(resource.relationships![n]!)])),
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

/** The headers every response carries, and Location. */
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
