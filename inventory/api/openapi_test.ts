import assert from "node:assert/strict";
import { memoryLogger } from "../../tests/support/memory_logger.ts";
import { assertValidOpenApi, documentedRoutes, servedRoutes } from "../../tests/support/openapi.ts";
import { createInventoryApp } from "../app.ts";
import type { IdempotencyStore, ProductCatalog, StockRepository } from "../domain/ports.ts";
import { inventoryOpenApi } from "./openapi.ts";

Deno.test("inventoryOpenApi is a valid OpenAPI 3.1 document", async () => {
  await assertValidOpenApi(inventoryOpenApi);
});

Deno.test("inventoryOpenApi describes every route the inventory app serves, and only those", async () => {
  const app = createInventoryApp({
    repository: {} as StockRepository,
    idempotencyStore: {} as IdempotencyStore,
    catalog: {} as ProductCatalog,
    productsServiceUrl: "http://products",
    apiKey: "k".repeat(16),
    logger: memoryLogger().logger,
  });
  assert.deepEqual(servedRoutes(app), documentedRoutes(inventoryOpenApi));
  const res = await app.request("/openapi.json");
  assert.equal(res.status, 200, "open without an API key");
  assert.deepEqual(await res.json(), inventoryOpenApi);
});
