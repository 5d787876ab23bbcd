import { z } from "zod";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/**
 * The query parameters a route accepts. One declaration feeds both the validator (`querySchema`)
 * and the OpenAPI document.
 */
export interface QuerySpec {
  /** Whether page[number] and page[size] are accepted. */
  paginated?: boolean;
  /** Whether page[after] (a cursor: the last item's position) and page[size] are accepted. */
  cursor?: boolean;
  /** Sortable attribute names; `sort` is rejected when absent. */
  sortable?: readonly string[];
  /** Filter name → zod schema of its raw string value. */
  filters?: Record<string, z.ZodType>;
  /** type → its attribute names, for `fields[type]`. */
  fields?: Record<string, readonly string[]>;
  /** Relationship paths accepted by `include`. */
  includable?: readonly string[];
}

export interface SortKey {
  field: string;
  descending: boolean;
}

export interface ParsedQuery {
  /** `after`: the cursor (0 when none was given), for a route that pages by cursor. */
  page: { number: number; size: number; after: number };
  sort: SortKey[];
  filters: Record<string, unknown>;
  fields: Record<string, string[]>;
  include: string[];
}

const positiveInt = /^[1-9][0-9]{0,8}$/;

/** A query value given once: repeated, Hono hands the validator an array. */
function once(name: string) {
  return z.string({ error: `${name} may be given only once` });
}

function listOf(name: string, allowed: readonly string[], problem: (item: string) => string) {
  return once(name).transform((value, ctx) => {
    const list = value === "" ? [] : value.split(",");
    const unknown = list.find((item) => !allowed.includes(item));
    if (unknown !== undefined) ctx.addIssue({ code: "custom", message: problem(unknown) });
    return list;
  });
}

/**
 * The zod schema of a route's query: every parameter the route does not declare is refused, and
 * the output is the parsed query. Messages are the JSON:API error details (400, `source.parameter`).
 */
export function querySchema(spec: QuerySpec) {
  const shape: Record<string, z.ZodType> = {};
  if (spec.cursor) {
    shape["page[after]"] = once("page[after]")
      .regex(/^(0|[1-9][0-9]{0,14})$/, "page[after] must be a non-negative integer")
      .transform(Number).optional();
  }
  if (spec.paginated) {
    shape["page[number]"] = once("page[number]")
      .regex(positiveInt, "page[number] must be a positive integer").transform(Number).optional();
  }
  if (spec.paginated || spec.cursor) {
    shape["page[size]"] = once("page[size]")
      .regex(positiveInt, "page[size] must be a positive integer").transform(Number)
      .refine((n) => n <= MAX_PAGE_SIZE, `page[size] must be between 1 and ${MAX_PAGE_SIZE}`)
      .optional();
  }
  if (spec.sortable) {
    const sortable = spec.sortable;
    shape.sort = once("sort").transform((value, ctx) =>
      value.split(",").map((raw) => {
        const descending = raw.startsWith("-");
        const field = descending ? raw.slice(1) : raw;
        if (!sortable.includes(field)) {
          ctx.addIssue({
            code: "custom",
            message: `Cannot sort by "${field}"; sortable: ${sortable.join(", ")}`,
          });
        }
        return { field, descending };
      })
    ).optional();
  }
  for (const [name, schema] of Object.entries(spec.filters ?? {})) {
    const parameter = `filter[${name}]`;
    shape[parameter] = once(parameter).transform((value, ctx) => {
      const result = schema.safeParse(value);
      if (result.success) return result.data;
      const message = result.error.issues[0]?.message ?? "invalid";
      ctx.addIssue({ code: "custom", message: `${parameter}: ${message}` });
      return z.NEVER;
    }).optional();
  }
  for (const [type, fields] of Object.entries(spec.fields ?? {})) {
    shape[`fields[${type}]`] = listOf(
      `fields[${type}]`,
      fields,
      (field) => `Unknown field "${field}"; fields: ${fields.join(", ")}`,
    ).optional();
  }
  if (spec.includable) {
    shape.include = listOf("include", spec.includable, (path) => `Cannot include "${path}"`)
      .optional();
  }
  return z.strictObject(shape).transform((raw): ParsedQuery => {
    const parsed: ParsedQuery = {
      page: {
        number: (raw["page[number]"] as number | undefined) ?? 1,
        size: (raw["page[size]"] as number | undefined) ?? DEFAULT_PAGE_SIZE,
        after: (raw["page[after]"] as number | undefined) ?? 0,
      },
      sort: (raw.sort as SortKey[] | undefined) ?? [],
      filters: {},
      fields: {},
      include: (raw.include as string[] | undefined) ?? [],
    };
    for (const [key, value] of Object.entries(raw)) {
      if (value === undefined) continue;
      const member = /^(filter|fields)\[(.+)\]$/.exec(key);
      if (member?.[1] === "filter") parsed.filters[member[2]!] = value;
      if (member?.[1] === "fields") parsed.fields[member[2]!] = value as string[];
    }
    return parsed;
  });
}

/** A decimal query value: digits with an optional fraction, as a number. */
export const decimalParam = z.string().regex(/^\d{1,12}(\.\d{1,2})?$/, "must be a decimal number")
  .transform(Number);

/** A non-negative integer query value. */
export const integerParam = z.string().regex(/^\d{1,10}$/, "must be a non-negative integer")
  .transform(Number);

/** A route that takes no query parameters at all. */
export const noQuery: QuerySpec = {};
