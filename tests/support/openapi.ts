import { Validator } from "@seriousme/openapi-schema-validator";
import assert from "node:assert/strict";

/** Validates an OpenAPI document against the official 3.1 schema (via an npm validator). */
export async function assertValidOpenApi(document: Record<string, unknown>): Promise<void> {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(document));
  assert.equal(validator.version, "3.1");
  assert.ok(result.valid, `invalid OpenAPI document: ${JSON.stringify(result.errors, null, 2)}`);
}

/**
 * Every method+path the Hono app serves, in OpenAPI form (`:id` → `{id}`), 405 handlers and
 * middleware registered for some methods on every path (`*`) aside.
 */
export function servedRoutes(app: { routes: { method: string; path: string }[] }): string[] {
  const served = app.routes
    .filter((r) => r.method !== "ALL" && r.path !== "/*")
    .map((r) =>
      `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}").replace(/(.)\/$/, "$1")}`
    );
  return [...new Set(served)].sort();
}

/** Every method+path the document describes. */
export function documentedRoutes(document: Record<string, unknown>): string[] {
  const paths = document.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
    .sort();
}
