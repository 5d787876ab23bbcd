import type { ErrorObject, ErrorSource } from "./jsonapi.ts";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? "Error";
}

export interface ApiErrorItem {
  code: string;
  detail: string;
  source?: ErrorSource;
  meta?: Record<string, unknown>;
}

/**
 * An HTTP-level failure with one or more JSON:API error objects sharing one status. Thrown from
 * middleware and routes; the error handler renders it.
 */
export class ApiError extends Error {
  readonly items: ApiErrorItem[];
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    items: ApiErrorItem | ApiErrorItem[],
    options: { headers?: Record<string, string> } = {},
  ) {
    const list = Array.isArray(items) ? items : [items];
    super(list.map((i) => i.detail).join("; "));
    this.name = "ApiError";
    this.items = list;
    this.headers = options.headers ?? {};
  }

  toErrorObjects(): ErrorObject[] {
    return this.items.map((item) => ({
      status: String(this.status),
      code: item.code,
      title: statusTitle(this.status),
      detail: item.detail,
      ...(item.source ? { source: item.source } : {}),
      ...(item.meta ? { meta: item.meta } : {}),
    }));
  }
}

export function badParameter(parameter: string, detail: string): ApiError {
  return new ApiError(400, { code: "invalid_parameter", detail, source: { parameter } });
}
