import assert from "node:assert/strict";
import { MongoClient } from "mongodb";
import { FaultProxy } from "../../tests/reliability/fault_proxy.ts";
import { insertKeepingFirst } from "./mongo_inserts.ts";

const url = Deno.env.get("MONGODB_URL");
const dbName = Deno.env.get("MONGODB_DB") ?? "inventory_test";

interface Doc {
  _id: string;
  v: number;
}

Deno.test({
  name: "insertKeepingFirst inserts every new document and returns those whose key was taken",
  ignore: !url,
  async fn() {
    const client = new MongoClient(url!, { serverSelectionTimeoutMS: 3000 });
    const db = client.db(`${dbName}_${crypto.randomUUID().slice(0, 8)}`);
    try {
      const docs = db.collection<Doc>("docs");
      await docs.insertMany([{ _id: "b", v: 0 }, { _id: "d", v: 0 }]);
      const all = ["a", "b", "c", "d", "e"].map((_id) => ({ _id, v: 1 }));
      const taken = await insertKeepingFirst(docs, all);
      assert.deepEqual(taken.map((d) => d._id), ["b", "d"]);
      const stored = await docs.find({}).sort({ _id: 1 }).toArray();
      assert.deepEqual(stored.map((d) => [d._id, d.v]), [
        ["a", 1],
        ["b", 0],
        ["c", 1],
        ["d", 0],
        ["e", 1],
      ]);
      assert.deepEqual(await insertKeepingFirst(docs, [{ _id: "f", v: 1 }]), []);
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  },
});

Deno.test({
  name: "insertKeepingFirst throws when the store's connection is cut under the insert",
  ignore: !url,
  async fn() {
    // Connected through a proxy that then cuts every connection: the driver reports the network
    // error as a bulk write error with no write errors, which must not read as "all inserted".
    const upstream = new URL(url!);
    const proxy = new FaultProxy({
      upstreamHost: upstream.hostname,
      upstreamPort: Number(upstream.port || 27017),
    });
    const name = `${dbName}_${crypto.randomUUID().slice(0, 8)}`;
    const client = new MongoClient(`mongodb://127.0.0.1:${proxy.port}/`, {
      serverSelectionTimeoutMS: 3000,
    });
    const direct = new MongoClient(url!, { serverSelectionTimeoutMS: 3000 });
    try {
      const docs = client.db(name).collection<Doc>("docs");
      await docs.insertOne({ _id: "before", v: 0 });
      proxy.setMode("cut");
      await assert.rejects(insertKeepingFirst(docs, [{ _id: "a", v: 1 }, { _id: "b", v: 1 }]));
      const stored = await direct.db(name).collection<Doc>("docs").find({}).toArray();
      assert.deepEqual(stored.map((d) => d._id), ["before"]);
    } finally {
      await direct.db(name).dropDatabase();
      await client.close();
      await direct.close();
      await proxy.close();
    }
  },
});
