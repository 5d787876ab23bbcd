// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { memoryLogger } from "../../tests/support/memory_logger.ts";
import { assertValidOpenApi, documentedRoutes, servedRoutes } from "../../tests/support/openapi.ts";
import { createInventoryApp } from "../app.ts";
import type {
  IdempotencyStore,
  ProductCatalog,
  ReservationStore,
  StockRepository,
} from "../domain/ports.ts";
import { inventoryOpenApi } from "./openapi.ts";

Deno.test("inventoryOpenApi is a valid OpenAPI 3.1 document", async () => {
  await assertValidOpenApi(inventoryOpenApi);
});

Deno.test("inventoryOpenApi describes every route the inventory app serves, and only those", async () => {
  const { app } = createInventoryApp({
    repository: {} as StockRepository,
    reservations: {} as ReservationStore,
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

Deno.test("inventoryOpenApi: sparse reads require no attribute or relationship; include is documented", () => {
  const paths = inventoryOpenApi.paths as Record<string, Record<string, any>>;
  const document = (op: any, status: string) =>
    op.responses[status].content["application/vnd.api+json"].schema;
  const resource = (op: any, status: string) => {
    const data = document(op, status).properties.data;
    return data.items ?? data;
  };
  for (const op of [paths["/inventory"]!.get, paths["/inventory/{product_id}"]!.get]) {
    assert.deepEqual(resource(op, "200").required, ["type", "id", "attributes", "links"]);
    assert.equal(resource(op, "200").properties.attributes.required, undefined);
    assert.deepEqual(document(op, "200").properties.included.items.properties.type.enum, [
      "products",
    ]);
  }
  for (
    const [op, status] of [[paths["/inventory"]!.post, "201"], [
      paths["/inventory/{product_id}"]!.patch,
      "200",
    ]]
  ) {
    assert.ok(resource(op, status).required.includes("relationships"));
    assert.equal(document(op, status).properties.included, undefined);
    assert.ok(op.responses[status].headers["Idempotent-Replayed"]);
  }
});
