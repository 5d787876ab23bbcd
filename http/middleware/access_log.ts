import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { accessLogWriter, LazyRequestLogger, type Logger } from "@stockroom/runtime/logger";

export interface AccessLogOptions {
  /** Told of every completed request with its duration (the metrics hook: one clock for both). */
  onComplete?: (c: Context<AppEnv>, durationMs: number) => void;
}

/**
 * Binds a request logger carrying `request_id` and writes one access line per request once the
 * response is known (errors included: onError has rendered them by then).
 */
export function accessLog(
  logger: Logger,
  options: AccessLogOptions = {},
): MiddlewareHandler<AppEnv> {
  const onComplete = options.onComplete;
  const writeAccessLine = accessLogWriter(logger);
  return async function accessLog(c, next) {
    const started = performance.now();
    const requestId = c.get("requestId");
    c.set("logger", new LazyRequestLogger(logger, requestId));
    await next();
    const durationMs = performance.now() - started;
    onComplete?.(c, durationMs);
    writeAccessLine({
      request_id: requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round(durationMs * 100) / 100,
    });
  };
}
