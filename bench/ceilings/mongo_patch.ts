/**
 * P3 ceiling: a bare Deno.serve doing the inventory repository's purchase: parse the JSON body, one
 * conditional findOneAndUpdate (stock check in the filter, $inc and $set, returnDocument "before")
 * on the same collection and document, same pool size, and a small JSON:API answer. No routing
 * framework, middleware, validation, idempotency or logging.
 *
 * env: PORT, MONGODB_URL, MONGODB_DB.
 */
import { MongoClient } from "mongodb";

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
}>("inventory");
const headers = { "Content-Type": "application/vnd.api+json" };

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000), onListen: () => {} }, async (req) => {
  const id = req.url.slice(req.url.lastIndexOf("/") + 1);
  if (id === "health") return new Response('{"meta":{"status":"ok"}}', { headers });
  const doc = await req.json();
  const delta: number = doc.data.attributes.quantity_delta;
  const at = new Date();
  const before = await collection.findOneAndUpdate(
    { product_id: id, quantity: { $gte: -delta } },
    { $inc: { quantity: delta }, $set: { last_updated: at } },
    { returnDocument: "before" },
  );
  if (!before) return new Response('{"errors":[{"status":"409"}]}', { status: 409, headers });
  return new Response(
    JSON.stringify({
      data: {
        type: "inventory",
        id,
        attributes: {
          product_id: id,
          quantity: before.quantity + delta,
          last_updated: at.toISOString(),
        },
      },
    }),
    { headers },
  );
});
