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
import { respond } from "./respond.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

export interface ServiceAppOptions {
  logger: Logger;
  apiKey: string;
  health: HealthOptions;
  /** The service's OpenAPI document, served open at `/openapi.json` with a page at `/docs`. */
  openapi: Record<string, unknown>;
  /** Served as Prometheus text at `/metrics`, behind the API key. */
  metrics: Metrics;
}

/**
 * The stack both services share, in order: request id, access log, open health routes, API key,
 * content negotiation, 1 MiB body limit, strict JSON body. The caller mounts its resources on the
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
  app.get("/openapi.json", (c) => respond(c, 200, openapi, "application/json"));
  const docs = docsPage(title);
  app.get("/docs", (c) => respond(c, 200, docs, "text/html; charset=UTF-8"));
  app.use(
    apiKey({ key: options.apiKey }),
    jsonApiContentNegotiation(),
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, {
          code: "body_too_large",
          detail: `The request body is over ${MAX_BODY_BYTES} bytes`,
        });
      },
    }),
    jsonApiBodyReader(),
  );
  app.get(
    "/metrics",
    async (c) => respond(c, 200, await options.metrics.render(), options.metrics.contentType),
  );
  return app;
}
