/** The HTTP layer both services share: Hono middleware, JSON:API documents, validation, OpenAPI. */
export * from "./api_error.ts";
export * from "./env.ts";
export * from "./health.ts";
export * from "./jsonapi.ts";
export * from "./middleware/error_handler.ts";
export * from "./openapi.ts";
export * from "./query.ts";
export * from "./respond.ts";
export * from "./service_app.ts";
export * from "./validation.ts";
export * from "./conditional.ts";
