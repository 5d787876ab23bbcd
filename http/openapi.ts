import { z } from "zod";
import { statusTitle } from "./api_error.ts";
import { JSONAPI_MEDIA_TYPE } from "./jsonapi.ts";
import { MAX_PAGE_SIZE, type QuerySpec } from "./query.ts";

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
    /** The resource type and zod schema of its attributes, for 200/201. */
    resource?: { type: string; attributes: z.ZodType; collection?: boolean };
  };
  /** Error statuses this operation can answer (401, 500 and 503 are added for every one). */
  errors: number[];
  /** Open routes need no API key. */
  open?: boolean;
}

function schemaOf(type: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _, ...schema } = z.toJSONSchema(type, { io, unrepresentable: "any" });
  return schema;
}

function queryParameters(spec: QuerySpec | undefined): Record<string, unknown>[] {
  if (!spec) return [];
  const params: Record<string, unknown>[] = [];
  const add = (name: string, description: string, schema: Record<string, unknown>) =>
    params.push({ name, in: "query", required: false, description, schema });
  if (spec.paginated) {
    add("page[number]", "Page number, from 1", { type: "integer", minimum: 1, default: 1 });
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

function resourceSchema(type: string, attributes: z.ZodType, io: "input" | "output", id: boolean) {
  return {
    type: "object",
    required: id ? ["type", "id"] : ["type"],
    properties: {
      type: { const: type },
      id: { type: "string", format: "uuid" },
      attributes: schemaOf(attributes, io),
      ...(io === "output" ? { relationships: { type: "object" }, links: { type: "object" } } : {}),
    },
  };
}

const jsonApi = (schema: unknown) => ({ content: { [JSONAPI_MEDIA_TYPE]: { schema } } });

function operationObject(op: OperationDoc): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  const { status, resource } = op.success;
  if (status === 204 || !resource) {
    responses[String(status)] = { description: status === 204 ? "No Content" : "OK" };
  } else {
    const data = resourceSchema(resource.type, resource.attributes, "output", true);
    responses[String(status)] = {
      description: status === 201 ? "Created" : "OK",
      ...(status === 201
        ? { headers: { Location: { schema: { type: "string" }, description: "The new resource" } } }
        : {}),
      ...jsonApi({
        type: "object",
        required: ["data"],
        properties: {
          data: resource.collection ? { type: "array", items: data } : data,
          included: { type: "array", items: { type: "object" } },
          links: { type: "object" },
          meta: { type: "object" },
        },
      }),
    };
  }
  const errors = new Set(op.errors);
  if (!op.open) errors.add(401);
  errors.add(500);
  for (const code of [...errors].sort()) {
    responses[String(code)] = {
      description: statusTitle(code),
      ...jsonApi({ $ref: "#/components/schemas/Errors" }),
    };
  }
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
    parameters: [...pathParams, ...queryParameters(op.query), ...headers],
    ...(op.body
      ? {
        requestBody: {
          required: true,
          ...jsonApi({
            type: "object",
            required: ["data"],
            properties: {
              data: resourceSchema(
                op.body.type,
                op.body.attributes,
                "input",
                op.body.id === "required",
              ),
            },
          }),
        },
      }
      : {}),
    ...(op.open ? { security: [] } : {}),
    responses,
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
      schemas: {
        Errors: {
          type: "object",
          required: ["errors"],
          properties: {
            errors: {
              type: "array",
              items: {
                type: "object",
                required: ["status", "code", "title", "detail"],
                properties: {
                  status: { type: "string" },
                  code: { type: "string" },
                  title: { type: "string" },
                  detail: { type: "string" },
                  source: {
                    type: "object",
                    properties: {
                      pointer: { type: "string" },
                      parameter: { type: "string" },
                      header: { type: "string" },
                    },
                  },
                  meta: { type: "object" },
                },
              },
            },
          },
        },
      },
    },
  };
}

/** Operations every service serves: health, the document itself and its docs page. */
export function commonOperations(): OperationDoc[] {
  return [
    {
      method: "get",
      path: "/health",
      summary: "Liveness (no dependency calls)",
      tag: "operations",
      success: { status: 200 },
      errors: [],
      open: true,
    },
    {
      method: "get",
      path: "/health/ready",
      summary: "Readiness: each dependency's state in meta",
      tag: "operations",
      success: { status: 200 },
      errors: [503],
      open: true,
    },
    {
      method: "get",
      path: "/openapi.json",
      summary: "This OpenAPI 3.1 document",
      tag: "operations",
      success: { status: 200 },
      errors: [],
      open: true,
    },
    {
      method: "get",
      path: "/docs",
      summary: "Interactive API documentation",
      tag: "operations",
      success: { status: 200 },
      errors: [],
      open: true,
    },
    {
      method: "get",
      path: "/metrics",
      summary: "Prometheus metrics (text exposition format)",
      tag: "operations",
      success: { status: 200 },
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
