import type { EventLog } from "@stockroom/kernel";

/** The one Hono environment every middleware and route of both services shares. */
export type AppEnv = {
  Variables: {
    requestId: string;
    /** Logs lines bound to this request's `request_id`. */
    logger: EventLog;
  };
};
