import assert from "node:assert/strict";
import { DependencyUnavailableError } from "@stockroom/kernel";
import { HttpProductCatalog } from "./http_product_catalog.ts";

const ID = "00000000-0000-4000-8000-000000000001";

/** A real server that answers each request with the next scripted status (the last repeats). */
function scriptedProducts(statuses: number[]) {
  const seen: { apiKey: string | null; requestId: string | null; path: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push({
      apiKey: req.headers.get("X-API-Key"),
      requestId: req.headers.get("X-Request-ID"),
      path: new URL(req.url).pathname,
    });
    const status = statuses[Math.min(seen.length - 1, statuses.length - 1)]!;
    const body = status === 200
      ? { data: { type: "products", id: ID, attributes: { name: "Mug" } } }
      : { errors: [{ status: String(status) }] };
    return Response.json(body, { status });
  });
  return {
    seen,
    catalog: new HttpProductCatalog({
      baseUrl: `http://127.0.0.1:${server.addr.port}/`,
      apiKey: "the-key-0123456789",
      retry: { baseDelayMs: 1, maxDelayMs: 5, totalTimeoutMs: 2000 },
    }),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("HttpProductCatalog.find() returns the product resource, sending key and request id", async () => {
  await using products = scriptedProducts([200]);
  const found = await products.catalog.find(ID, "req-1");
  assert.deepEqual(found, {
    id: ID,
    resource: { type: "products", id: ID, attributes: { name: "Mug" } },
  });
  assert.deepEqual(products.seen, [{
    apiKey: "the-key-0123456789",
    requestId: "req-1",
    path: `/products/${ID}`,
  }]);
});

Deno.test("HttpProductCatalog.find() returns null on 404 without retrying", async () => {
  await using products = scriptedProducts([404]);
  assert.equal(await products.catalog.find(ID, "r"), null);
  assert.equal(products.seen.length, 1);
});

Deno.test("HttpProductCatalog.find() retries 503 and then succeeds", async () => {
  await using products = scriptedProducts([503, 502, 200]);
  assert.equal((await products.catalog.find(ID, "r"))?.id, ID);
  assert.equal(products.seen.length, 3);
});

Deno.test("HttpProductCatalog.find() reports the products service unavailable after retries", async () => {
  await using products = scriptedProducts([503]);
  await assert.rejects(products.catalog.find(ID, "r"), DependencyUnavailableError);
  assert.equal(products.seen.length, 4);
});

Deno.test("HttpProductCatalog.find() treats a 401 from products as our dependency failing", async () => {
  await using products = scriptedProducts([401]);
  await assert.rejects(products.catalog.find(ID, "r"), (err: DependencyUnavailableError) => {
    assert.equal(err.code, "products_service_unavailable");
    return true;
  });
  assert.equal(products.seen.length, 1);
});

Deno.test("HttpProductCatalog.find() rejects a document for another product", async () => {
  await using products = scriptedProducts([200]);
  await assert.rejects(
    products.catalog.find("00000000-0000-4000-8000-000000000002", "r"),
    DependencyUnavailableError,
  );
});
