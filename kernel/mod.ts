/**
 * The kernel: what every layer may use, with no npm dependency at all, so domain and application
 * code can import it and still load nothing from npm.
 */
export * from "./clock.ts";
export * from "./deadline.ts";
export * from "./errors.ts";
export * from "./event_log.ts";
export * from "./ids.ts";
export * from "./request_id.ts";
