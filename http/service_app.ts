import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./env.ts";
import { ApiError } from "./api_error.ts";
import { type HealthOptions, healthRoutes } from "./health.ts";
import type { Logger } from "@stockroom/runtime/logger";
import type { Metrics } from "@stockroom/runtime/metrics";
import { requestRecorder } from "./request_metrics.ts";
import { docsPage } from "./openapi.ts";
import { accessLog } from "./middleware/access_log.ts";
import { apiKey } from "./middleware/api_key.ts";
import { jsonApiBodyReader } from "./middleware/body_reader.ts";
import { jsonApiContentNegotiation } from "./middleware/content_negotiation.ts";
import { errorHandler, notFoundHandler } from "./middleware/error_handler.ts";
import { requestId } from "./middleware/request_id.ts";
import { shedWrites } from "./middleware/shed.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

export interface ServiceAppOptions {
  logger: Logger;
  apiKey: string;
  health: HealthOptions;
  /** The service's OpenAPI document, served open at `/openapi.json` with a page at `/docs`. */
  openapi: Record<string, unknown>;
  /** Served as Prometheus text at `/metrics`, behind the API key. */
  metrics: Metrics;
  /**
   * True (counting a shed) when the store could not take a write now: such a write without an
   * Idempotency-Key is refused before its body is read (middleware/shed.ts).
   */
  writesFull?: () => boolean;
}

/**
 * The stack both services share, in order: request id, access log, open health routes, API key,
 * content negotiation, early shedding of writes, 1 MiB body limit, strict JSON body. The caller mounts its resources on the
 * returned app.
 */
export function createServiceApp(options: ServiceAppOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(errorHandler());
  app.notFound(notFoundHandler());
  app.use(
    requestId(),
    accessLog(options.logger, { onComplete: requestRecorder(options.metrics) }),
  );
  app.route("/health", healthRoutes(options.health));
  const openapi = JSON.stringify(options.openapi);
  const title = String((options.openapi.info as { title?: string } | undefined)?.title ?? "API");
  app.get("/openapi.json", (c) => c.body(openapi, 200, { "Content-Type": "application/json" }));
  const docs = docsPage(title);
  app.get("/docs", (c) => c.html(docs));
  app.use(apiKey({ key: options.apiKey }), jsonApiContentNegotiation());
  // Only the methods that may carry a body pass through these (a DELETE's body is limited too,
  // then ignored): reads never pay for them.
  if (options.writesFull) app.on(["POST", "PATCH", "DELETE"], "*", shedWrites(options.writesFull));
  app.on(
    ["POST", "PATCH", "DELETE"],
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, {
          code: "body_too_large",
          detail: `The request body is over ${MAX_BODY_BYTES} bytes`,
        });
      },
    }),
  );
  app.on(["POST", "PATCH"], "*", jsonApiBodyReader());
  app.get(
    "/metrics",
    async (c) =>
      c.body(await options.metrics.render(), 200, {
        "Content-Type": options.metrics.contentType,
      }),
  );
  return app;
}
