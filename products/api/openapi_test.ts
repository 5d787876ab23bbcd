// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { memoryLogger } from "../../tests/support/memory_logger.ts";
import { assertValidOpenApi, documentedRoutes, servedRoutes } from "../../tests/support/openapi.ts";
import { createProductsApp } from "../app.ts";
import type { ProductRepository } from "../domain/ports.ts";
import { LruProductCache } from "../infrastructure/lru_product_cache.ts";
import { productsOpenApi } from "./openapi.ts";

Deno.test("productsOpenApi is a valid OpenAPI 3.1 document", async () => {
  await assertValidOpenApi(productsOpenApi);
});

Deno.test("productsOpenApi describes every route the products app serves, and only those", async () => {
  const app = createProductsApp({
    store: {} as ProductRepository,
    cache: new LruProductCache(),
    cacheTtlSeconds: 0,
    apiKey: "k".repeat(16),
    logger: memoryLogger().logger,
  });
  assert.deepEqual(servedRoutes(app), documentedRoutes(productsOpenApi));
  const res = await app.request("/openapi.json");
  assert.equal(res.status, 200, "open without an API key");
  assert.deepEqual(await res.json(), productsOpenApi);
  const docs = await app.request("/docs");
  assert.equal(docs.status, 200);
  assert.match(await docs.text(), /openapi\.json/);
});

Deno.test("productsOpenApi takes its attribute schemas from the validating zod schemas", () => {
  const paths = productsOpenApi.paths as Record<string, Record<string, any>>;
  const body = paths["/products"]!.post.requestBody.content["application/vnd.api+json"].schema;
  const attributes = body.properties.data.properties.attributes;
  assert.deepEqual(attributes.required, ["name", "description", "price"]);
  assert.equal(attributes.additionalProperties, false);
  assert.equal(attributes.properties.price.maximum, 99_999_999.99);
});

Deno.test("productsOpenApi requires response attributes only where no sparse fieldset drops them", () => {
  const paths = productsOpenApi.paths as Record<string, Record<string, any>>;
  const data = (op: any, status: string) => {
    const schema = op.responses[status].content["application/vnd.api+json"].schema;
    return schema.properties.data.items ?? schema.properties.data;
  };
  const all = ["name", "description", "price", "created_at", "updated_at"];
  assert.equal(data(paths["/products"]!.get, "200").properties.attributes.required, undefined);
  assert.equal(data(paths["/products/{id}"]!.get, "200").properties.attributes.required, undefined);
  assert.deepEqual(data(paths["/products"]!.post, "201").properties.attributes.required, all);
  assert.deepEqual(data(paths["/products/{id}"]!.patch, "200").properties.attributes.required, all);
  assert.equal(paths["/products/{id}"]!.get.responses["200"].headers["X-Cache"].required, true);
  assert.ok(paths["/products"]!.post.responses["201"].headers.Location);
  assert.equal(paths["/products/{id}"]!.delete.responses["204"].content, undefined);
});

Deno.test("productsOpenApi documents conditional requests: ETag, If-None-Match → 304, If-Match → 412", () => {
  const item = (productsOpenApi.paths as Record<string, Record<string, any>>)["/products/{id}"]!;
  const headerParams = (op: any) =>
    op.parameters.filter((p: any) => p.in === "header").map((p: any) => p.name);
  const etag = { $ref: "#/components/headers/ETag" };
  assert.deepEqual(headerParams(item.get), ["If-None-Match"]);
  assert.deepEqual(item.get.responses["200"].headers.ETag, etag);
  assert.deepEqual(item.get.responses["304"].headers.ETag, etag);
  assert.ok(item.get.responses["304"].headers["X-Cache"], "the 200's headers, on the 304 too");
  assert.equal(item.get.responses["304"].content, undefined);
  assert.equal(item.get.responses["412"], undefined);
  for (const method of ["patch", "delete"]) {
    assert.deepEqual(headerParams(item[method]), ["If-Match"], method);
    assert.deepEqual(item[method].responses["412"].headers.ETag, {
      $ref: "#/components/headers/CurrentETag",
    });
    assert.ok(item[method].responses["400"], method);
    assert.equal(item[method].responses["304"], undefined, method);
  }
  assert.deepEqual(item.patch.responses["200"].headers.ETag, etag);
  assert.equal(item.delete.responses["204"].headers.ETag, undefined, "no body, no tag");
  const components = (productsOpenApi.components as any).headers;
  assert.equal(components.ETag.required, true);
  assert.equal(new RegExp(components.ETag.schema.pattern).test('"v12-name.price"'), true);
  assert.equal(new RegExp(components.ETag.schema.pattern).test('W/"v12"'), false);
  const collection = (productsOpenApi.paths as Record<string, Record<string, any>>)["/products"]!;
  assert.equal(collection.get.responses["200"].headers.ETag, undefined, "no tag on a list");
});
