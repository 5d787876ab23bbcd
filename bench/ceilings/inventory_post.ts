/**
 * P4 ceiling: a bare Deno.serve doing what `POST /inventory` must do, the plainest way: parse the
 * JSON body, ask the products service for the product (`GET /products/{id}` with fetch, the API key
 * and a request id, as inventory does; no retries), then one insertOne of the inventory document
 * into a collection of its own on the same MongoDB server and database, with the indexes the
 * inventory collection has (same pool size), and a small JSON:API answer with Location. No routing
 * framework, middleware, validation, idempotency or logging.
 *
 * env: PORT, MONGODB_URL, MONGODB_DB, PRODUCTS_SERVICE_URL, API_KEY.
 */
import { MongoClient, MongoServerError } from "mongodb";

const productsUrl = Deno.env.get("PRODUCTS_SERVICE_URL")!.replace(/\/+$/, "");
const apiKey = Deno.env.get("API_KEY")!;
const client = new MongoClient(Deno.env.get("MONGODB_URL")!, {
  serverSelectionTimeoutMS: 3000,
  connectTimeoutMS: 3000,
  socketTimeoutMS: 10_000,
  maxPoolSize: 20,
});
await client.connect();
const collection = client.db(Deno.env.get("MONGODB_DB")!).collection<{
  product_id: string;
  quantity: number;
  last_updated: Date;
}>("inventory_ceiling");
// The inventory collection's indexes (inventory/infrastructure/mongo_stock_repository.ts), one call
// each as there: every insert maintains the same three.
await collection.createIndex({ product_id: 1 }, { name: "product_id_unique", unique: true });
await collection.createIndex({ quantity: 1, product_id: 1 }, { name: "quantity_product_id" });
await collection.createIndex({ last_updated: 1, product_id: 1 }, {
  name: "last_updated_product_id",
});
const headers = { "Content-Type": "application/vnd.api+json" };
const error = (status: number) =>
  new Response(`{"errors":[{"status":"${status}"}]}`, { status, headers });

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000), onListen: () => {} }, async (req) => {
  if (req.method === "GET" && req.url.endsWith("/health")) {
    return new Response('{"meta":{"status":"ok"}}', { headers });
  }
  const doc = await req.json();
  const id: string = doc.data.attributes.product_id;
  const quantity: number = doc.data.attributes.quantity;
  const product = await fetch(`${productsUrl}/products/${id}`, {
    headers: {
      "Accept": "application/vnd.api+json",
      "X-API-Key": apiKey,
      "X-Request-ID": crypto.randomUUID(),
    },
  });
  const body = await product.json().catch(() => null);
  if (product.status === 404) return error(422);
  if (product.status !== 200 || body?.data?.id !== id) return error(503);
  const at = new Date();
  try {
    await collection.insertOne({ product_id: id, quantity, last_updated: at });
  } catch (err) {
    if (err instanceof MongoServerError && err.code === 11000) return error(409);
    throw err;
  }
  const self = `${req.url.slice(0, req.url.indexOf("/", 8))}/inventory/${id}`;
  return new Response(
    JSON.stringify({
      data: {
        type: "inventory",
        id,
        attributes: { product_id: id, quantity, last_updated: at.toISOString() },
        links: { self },
      },
    }),
    { status: 201, headers: { ...headers, Location: self } },
  );
});
