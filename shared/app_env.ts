import type { Logger } from "./logger.ts";

/** The one Hono environment every middleware and route of both services shares. */
export type AppEnv = {
  Variables: {
    requestId: string;
    /** Child logger bound to this request's `request_id`. */
    logger: Logger;
  };
};
