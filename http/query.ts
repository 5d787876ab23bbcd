import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "./env.ts";
import { badParameter } from "./api_error.ts";

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Query parameters of one request, validated against what the route declares. */
export interface QuerySpec {
  /** Whether page[number] and page[size] are accepted. */
  paginated?: boolean;
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
  page: { number: number; size: number };
  sort: SortKey[];
  filters: Record<string, unknown>;
  fields: Record<string, string[]>;
  include: string[];
}

const positiveInt = /^[1-9][0-9]{0,8}$/;

function single(name: string, values: string[]): string {
  if (values.length !== 1) throw badParameter(name, `${name} may be given only once`);
  return values[0]!;
}

/** Validates every query parameter: anything the route does not declare is a 400. */
export function parseQuery(c: Context<AppEnv>, spec: QuerySpec): ParsedQuery {
  const parsed: ParsedQuery = {
    page: { number: 1, size: DEFAULT_PAGE_SIZE },
    sort: [],
    filters: {},
    fields: {},
    include: [],
  };
  for (const [name, values] of Object.entries(c.req.queries())) {
    const value = single(name, values);
    const family = /^([a-z]+)(?:\[([^\]]*)\])?$/.exec(name);
    const [, base, member] = family ?? [];
    if (spec.paginated && base === "page" && (member === "number" || member === "size")) {
      if (!positiveInt.test(value)) {
        throw badParameter(name, `${name} must be a positive integer`);
      }
      const n = Number(value);
      if (member === "size" && n > MAX_PAGE_SIZE) {
        throw badParameter(name, `page[size] must be between 1 and ${MAX_PAGE_SIZE}`);
      }
      parsed.page[member] = n;
    } else if (spec.sortable && base === "sort" && member === undefined) {
      parsed.sort = value.split(",").map((raw) => {
        const descending = raw.startsWith("-");
        const field = descending ? raw.slice(1) : raw;
        if (!spec.sortable!.includes(field)) {
          throw badParameter(
            "sort",
            `Cannot sort by "${field}"; sortable: ${spec.sortable!.join(", ")}`,
          );
        }
        return { field, descending };
      });
    } else if (base === "filter" && member !== undefined && spec.filters?.[member]) {
      const result = spec.filters[member].safeParse(value);
      if (!result.success) {
        throw badParameter(name, `${name}: ${result.error.issues[0]?.message ?? "invalid"}`);
      }
      parsed.filters[member] = result.data;
    } else if (base === "fields" && member !== undefined && spec.fields?.[member]) {
      const allowed = spec.fields[member];
      const list = value === "" ? [] : value.split(",");
      const unknown = list.find((f) => !allowed.includes(f));
      if (unknown !== undefined) {
        throw badParameter(name, `Unknown field "${unknown}"; fields: ${allowed.join(", ")}`);
      }
      parsed.fields[member] = list;
    } else if (spec.includable && base === "include" && member === undefined) {
      const list = value.split(",");
      const unknown = list.find((p) => !spec.includable!.includes(p));
      if (unknown !== undefined) {
        throw badParameter("include", `Cannot include "${unknown}"`);
      }
      parsed.include = list;
    } else {
      throw badParameter(name, `Unsupported query parameter: ${name}`);
    }
  }
  return parsed;
}

/** A decimal query value: digits with an optional fraction, as a number. */
export const decimalParam = z.string().regex(/^\d{1,12}(\.\d{1,2})?$/, "must be a decimal number")
  .transform(Number);

/** A non-negative integer query value. */
export const integerParam = z.string().regex(/^\d{1,10}$/, "must be a non-negative integer")
  .transform(Number);
