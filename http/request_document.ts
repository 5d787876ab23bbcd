import type { Context } from "hono";
import type { z } from "zod";
import type { AppEnv } from "./env.ts";
import { ApiError, type ApiErrorItem } from "./api_error.ts";
import { pointerSegment } from "./jsonapi.ts";

export interface ReadResourceOptions<S extends z.ZodType> {
  type: string;
  /** For PATCH: the id in the path, which `data.id` must equal. */
  id?: string;
  attributes: S;
}

export interface ResourceInput<T> {
  /** A client-supplied id on create, if any. */
  id?: string;
  attributes: T;
}

/** Rejects invalid bytes instead of silently storing U+FFFD in their place. */
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

function malformed(detail: string, pointer: string): ApiError {
  return new ApiError(400, { code: "invalid_document", detail, source: { pointer } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One 422 error per zod issue, each pointing at the attribute it is about. */
export function attributeErrors(error: z.ZodError): ApiErrorItem[] {
  return error.issues.flatMap((issue) => {
    const base = "/data/attributes" + issue.path.map((p) => "/" + pointerSegment(p)).join("");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        code: "unknown_attribute",
        detail: `Unknown attribute: ${key}`,
        source: { pointer: `${base}/${pointerSegment(key)}` },
      }));
    }
    const name = issue.path.length > 0 ? issue.path.map(String).join(".") : "attributes";
    return [{
      code: "invalid_attribute",
      detail: `${name}: ${issue.message}`,
      source: { pointer: base },
    }];
  });
}

/**
 * Reads a JSON:API request document: 400 when it is not one, 409 when `type` or `id` does not
 * match the endpoint, 422 (one error per problem) when the attributes fail `options.attributes`.
 */
export async function readResource<S extends z.ZodType>(
  c: Context<AppEnv>,
  options: ReadResourceOptions<S>,
): Promise<ResourceInput<z.infer<S>>> {
  let text: string;
  try {
    text = STRICT_UTF8.decode(await c.req.arrayBuffer());
  } catch {
    throw malformed("The request body is not valid UTF-8", "");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw malformed("The request body is not valid JSON", "");
  }
  if (!isObject(body)) throw malformed("The request body must be a JSON object", "");
  const data = body.data;
  if (!isObject(data)) throw malformed("The document must have a data object", "/data");
  if (typeof data.type !== "string") {
    throw malformed("data.type must be a string", "/data/type");
  }
  if (data.type !== options.type) {
    throw new ApiError(409, {
      code: "type_mismatch",
      detail: `data.type must be "${options.type}"`,
      source: { pointer: "/data/type" },
    });
  }
  if (data.id !== undefined && typeof data.id !== "string") {
    throw malformed("data.id must be a string", "/data/id");
  }
  if (options.id !== undefined) {
    if (data.id === undefined) throw malformed("data.id is required", "/data/id");
    if (data.id !== options.id) {
      throw new ApiError(409, {
        code: "id_mismatch",
        detail: "data.id must match the id in the URL",
        source: { pointer: "/data/id" },
      });
    }
  }
  if (data.attributes !== undefined && !isObject(data.attributes)) {
    throw malformed("data.attributes must be an object", "/data/attributes");
  }
  if (data.relationships !== undefined) {
    throw new ApiError(422, {
      code: "unknown_relationship",
      detail: `${options.type} accepts no relationships in request documents`,
      source: { pointer: "/data/relationships" },
    });
  }
  const parsed = options.attributes.safeParse(data.attributes ?? {});
  if (!parsed.success) throw new ApiError(422, attributeErrors(parsed.error));
  return { id: data.id as string | undefined, attributes: parsed.data };
}
