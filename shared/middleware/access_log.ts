import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app_env.ts";
import type { Logger } from "../logger.ts";

/**
 * Binds a request logger carrying `request_id` and writes one access line per request once the
 * response is known (errors included: onError has rendered them by then).
 */
export function accessLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    const started = performance.now();
    const requestLogger = logger.child({ request_id: c.get("requestId") });
    c.set("logger", requestLogger);
    await next();
    const status = c.res.status;
    const fields = {
      method: c.req.method,
      path: c.req.path,
      status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
    };
    if (status >= 500) requestLogger.error(fields, "request completed");
    else requestLogger.info(fields, "request completed");
  };
}
