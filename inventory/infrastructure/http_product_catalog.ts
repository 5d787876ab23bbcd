import { DependencyUnavailableError, type EventLog } from "@stockroom/kernel";
import {
  fetchWithRetry,
  type RetryOptions,
  UpstreamUnavailableError,
} from "@stockroom/runtime/http_client";
import type { CatalogProduct, ProductCatalog } from "../domain/ports.ts";

export interface HttpProductCatalogOptions {
  baseUrl: string;
  apiKey: string;
  log?: EventLog;
  retry?: Omit<RetryOptions, "log" | "signal">;
  /** Metrics hook: told when every attempt budget ran out. */
  onUnavailable?: () => void;
}

/**
 * Products over HTTP: `GET /products/{id}` with the shared key and the caller's request id, retried
 * on network errors, 429 and 502–504 within a bounded budget. 404 means "no such product".
 */
export class HttpProductCatalog implements ProductCatalog {
  readonly #options: HttpProductCatalogOptions;

  constructor(options: HttpProductCatalogOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, "") };
  }

  async find(productId: string, requestId: string): Promise<CatalogProduct | null> {
    const url = `${this.#options.baseUrl}/products/${encodeURIComponent(productId)}`;
    let res: Response;
    try {
      res = await fetchWithRetry(url, {
        headers: {
          "Accept": "application/vnd.api+json",
          "X-API-Key": this.#options.apiKey,
          "X-Request-ID": requestId,
        },
      }, { ...this.#options.retry, log: this.#requestLog(requestId) });
    } catch (err) {
      if (err instanceof UpstreamUnavailableError) {
        this.#options.onUnavailable?.();
        throw new DependencyUnavailableError("products service", { cause: err });
      }
      throw err;
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      // A 401 or 400 here is our misconfiguration, not the client's: report the dependency.
      throw new DependencyUnavailableError("products service", {
        cause: new Error(`products answered ${res.status}`),
      });
    }
    let doc: { data?: { id?: unknown } & Record<string, unknown> };
    try {
      doc = await res.json();
    } catch (err) {
      // A connection cut mid-body or a body that is not JSON: products did not really answer.
      throw new DependencyUnavailableError("products service", { cause: err });
    }
    if (!doc.data || doc.data.id !== productId) {
      throw new DependencyUnavailableError("products service", {
        cause: new Error("products answered with an unexpected document"),
      });
    }
    return { id: productId, resource: doc.data };
  }

  /** One attempt at products' liveness route, no retries: readiness wants the present state. */
  async ping(): Promise<void> {
    const res = await fetch(`${this.#options.baseUrl}/health`, {
      signal: AbortSignal.timeout(1500),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`products answered ${res.status} to /health`);
  }

  /** Retry warnings carry the request id, like every other line of the request. */
  #requestLog(requestId: string): EventLog | undefined {
    const log = this.#options.log;
    const withId = (fields: Record<string, unknown>) => ({ ...fields, request_id: requestId });
    return log && {
      info: (fields, message) => log.info(withId(fields), message),
      warn: (fields, message) => log.warn(withId(fields), message),
      error: (fields, message) => log.error(withId(fields), message),
    };
  }
}
