import type { z } from "zod";
import { statusTitle } from "./api_error.ts";
import type { QuerySpec } from "./query.ts";
import {
  conditionalParameters,
  headerComponents,
  jsonApiContent,
  queryParameters,
  requestResource,
  type ResourceDoc,
  resourceDocumentSchema,
  type Schema,
  schemaComponents,
} from "./openapi_schemas.ts";

export type { ResourceDoc } from "./openapi_schemas.ts";

/** A response header an operation sends. */
export interface HeaderDoc {
  name: string;
  description: string;
  /** JSON Schema of the value; a string by default. */
  schema?: Record<string, unknown>;
  /** Sent on every such response (default false: only sometimes). */
  required?: boolean;
}

/** One operation, described from the same zod schemas and query spec the route validates with. */
export interface OperationDoc {
  method: "get" | "post" | "patch" | "delete";
  /** OpenAPI style: `/products/{id}`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  query?: QuerySpec;
  /** The request document: its `type` and the zod schema of its attributes. */
  body?: { type: string; attributes: z.ZodType; id: "forbidden" | "optional" | "required" };
  headers?: { name: string; description: string }[];
  success: {
    status: 200 | 201 | 204;
    /** The resource of a 200/201 JSON:API document. */
    resource?: ResourceDoc;
    /** Any other body: media type → Media Type Object (health, metrics, the document itself). */
    content?: Record<string, Schema>;
    /** Headers of the success response besides X-Request-ID (and Location on a 201). */
    headers?: HeaderDoc[];
    /** Other statuses answered with the success body (readiness: 503 when not ready). */
    also?: number[];
  };
  /**
   * Error statuses this operation can answer with a JSON:API error document. The shared stack's
   * are added: 500 for every one; 401 and 406 behind the API key; 413 for POST, PATCH and DELETE
   * (the body limit); 400 and 415 for POST and PATCH (the body reader, content negotiation).
   */
  errors: number[];
  /** Headers any response below 500 may carry (an idempotent replay's marker). */
  responseHeaders?: HeaderDoc[];
  /** Open routes need no API key. */
  open?: boolean;
  /**
   * Conditional requests on one resource (http/conditional.ts), documented from this one option:
   * - `"read"` (a GET): the success carries a strong `ETag` (always), the request may send
   *   `If-None-Match`, and a match answers 304 Not Modified: no body, the `ETag`, and the headers
   *   the success would have carried (as the success documents them).
   * - `"write"` (a PATCH or DELETE): the request may send `If-Match`; a stale one answers 412
   *   `precondition_failed` with the current `ETag` when there is one; a success with a body
   *   carries the new `ETag` (always).
   * Either way a malformed header is a 400 with `source.header`, added to the errors.
   */
  conditional?: "read" | "write";
}

function headerObjects(headers: HeaderDoc[] = []): Schema {
  return Object.fromEntries(headers.map((h) => [h.name, {
    description: h.description,
    required: h.required ?? false,
    schema: h.schema ?? { type: "string" },
  }]));
}

const requestIdHeader = { "X-Request-ID": { $ref: "#/components/headers/RequestId" } };

/** The document of a success: a resource document, or the operation's own content. */
function successContent(op: OperationDoc): Schema | undefined {
  const { resource, content } = op.success;
  if (content) return content;
  if (!resource) return undefined;
  const sparse = op.query?.fields?.[resource.type] !== undefined;
  const includedTypes = op.query?.includable?.flatMap((path) => {
    const type = resource.relationships?.[path];
    return type ? [type] : [];
  });
  return jsonApiContent(resourceDocumentSchema(resource, { sparse, includedTypes }));
}

/** Every status the operation can answer with a JSON:API error document, in order. */
function errorStatuses(op: OperationDoc): number[] {
  const errors = new Set(op.errors);
  errors.add(500);
  if (!op.open) [401, 406].forEach((s) => errors.add(s));
  if (op.method !== "get") errors.add(413);
  // A write sent to a store that did not confirm it: 504 outcome_unknown.
  if (!op.open && op.method !== "get") errors.add(504);
  if (op.method === "post" || op.method === "patch") [400, 415].forEach((s) => errors.add(s));
  if (op.conditional) errors.add(400);
  if (op.conditional === "write") errors.add(412);
  for (const status of op.success.also ?? []) errors.delete(status);
  return [...errors].sort((a, b) => a - b);
}

function responsesObject(op: OperationDoc): Schema {
  const { status, also = [] } = op.success;
  const content = successContent(op);
  const responses: Schema = {};
  const hasBody = content !== undefined && status !== 204;
  const successHeaders = {
    ...requestIdHeader,
    ...(status === 201 ? { Location: { $ref: "#/components/headers/Location" } } : {}),
    ...(op.conditional && hasBody ? { ETag: { $ref: "#/components/headers/ETag" } } : {}),
    ...headerObjects(op.success.headers),
    ...headerObjects(op.responseHeaders),
  };
  responses[String(status)] = {
    description: status === 204 ? "No Content" : status === 201 ? "Created" : "OK",
    headers: successHeaders,
    ...(hasBody ? { content } : {}),
  };
  // The success's headers, ETag included, and no content (RFC 9110 §15.4.5).
  if (op.conditional === "read") {
    responses["304"] = { description: "Not Modified", headers: successHeaders };
  }
  for (const code of also) {
    responses[String(code)] = { description: statusTitle(code), headers: requestIdHeader, content };
  }
  for (const code of errorStatuses(op)) {
    responses[String(code)] = {
      description: statusTitle(code),
      headers: {
        ...requestIdHeader,
        ...(code < 500 ? headerObjects(op.responseHeaders) : {}),
        ...(code === 503 ? { "Retry-After": { $ref: "#/components/headers/RetryAfter" } } : {}),
        ...(code === 409
          ? { "Retry-After": { $ref: "#/components/headers/RetryAfterInProgress" } }
          : {}),
        ...(code === 412 && op.conditional === "write"
          ? { ETag: { $ref: "#/components/headers/CurrentETag" } }
          : {}),
      },
      content: jsonApiContent({ $ref: "#/components/schemas/Errors" }),
    };
  }
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
}

function operationObject(op: OperationDoc): Record<string, unknown> {
  const pathParams = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: "path",
    required: true,
    schema: { type: "string", format: "uuid" },
  }));
  const headers = (op.headers ?? []).map((h) => ({
    name: h.name,
    in: "header",
    required: false,
    description: h.description,
    schema: { type: "string" },
  }));
  return {
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    operationId: `${op.method}${
      op.path.replace(/[{}]/g, "").replace(/\/(\w)/g, (_, c) => c.toUpperCase())
    }`,
    parameters: [
      ...pathParams,
      ...queryParameters(op.query),
      ...headers,
      ...conditionalParameters(op.conditional),
    ],
    ...(op.body
      ? {
        requestBody: {
          required: true,
          content: jsonApiContent({
            type: "object",
            required: ["data"],
            properties: {
              data: requestResource(op.body.type, op.body.attributes, op.body.id === "required"),
            },
          }),
        },
      }
      : {}),
    ...(op.open ? { security: [] } : {}),
    responses: responsesObject(op),
  };
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

/** An OpenAPI 3.1 document for the operations, with the API key scheme and JSON:API errors. */
export function openApiDocument(
  info: OpenApiInfo,
  operations: OperationDoc[],
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    (paths[op.path] ??= {})[op.method] = operationObject(op);
  }
  return {
    openapi: "3.1.0",
    info,
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
      },
      headers: structuredClone(headerComponents),
      schemas: structuredClone(schemaComponents),
    },
  };
}

const schema = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Operations every service serves: health, the document itself and its docs page. */
export function commonOperations(): OperationDoc[] {
  const open = { method: "get" as const, tag: "operations", errors: [] as number[], open: true };
  return [
    {
      ...open,
      path: "/health",
      summary: "Liveness (no dependency calls)",
      success: { status: 200, content: jsonApiContent(schema("Liveness")) },
    },
    {
      ...open,
      path: "/health/ready",
      summary: "Readiness: each dependency's state in meta (503 when not ready)",
      success: { status: 200, content: jsonApiContent(schema("Readiness")), also: [503] },
    },
    {
      ...open,
      path: "/openapi.json",
      summary: "This OpenAPI 3.1 document",
      success: {
        status: 200,
        content: {
          "application/json": { schema: { type: "object", required: ["openapi", "paths"] } },
        },
      },
    },
    {
      ...open,
      path: "/docs",
      summary: "Interactive API documentation",
      success: { status: 200, content: { "text/html": { schema: { type: "string" } } } },
    },
    {
      method: "get",
      path: "/metrics",
      summary: "Prometheus metrics (text exposition format)",
      tag: "operations",
      success: { status: 200, content: { "text/plain": { schema: { type: "string" } } } },
      errors: [],
    },
  ];
}

/** A docs page rendering the document with Scalar's API reference (loaded by the browser). */
export function docsPage(title: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<script id="api-reference" data-url="./openapi.json"></script>
<script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
</body>
</html>`;
}
