import assert from "node:assert/strict";
import { MongoClient } from "mongodb";
import { adjust, assertLedger, at, create, intent } from "../../tests/contracts/stock_helpers.ts";
import { stockRepositoryContract } from "../../tests/contracts/stock_repository.ts";
import { RECENT_KEYS } from "./mongo_ledger.ts";
import { createMongoStockRepository } from "./mongo_stock_repository.ts";

const url = Deno.env.get("MONGODB_URL");
const dbName = Deno.env.get("MONGODB_DB") ?? "inventory_test";

function _client(): MongoClient {
  // A short server selection timeout turns an outage into a quick failure, not a 30 s hang.
  return new MongoClient(url ?? "", { serverSelectionTimeoutMS: 3_000 });
}

stockRepositoryContract("Mongo StockRepository", async () => {
  // A database of its own per case: the cases run in parallel with other test files.
  const db = `${dbName}_${crypto.randomUUID().slice(0, 8)}`;
  const client = _client();
  const repo = await createMongoStockRepository(client, db, { closeClient: false });
  return {
    repo,
    reset: () => Promise.resolve(),
    second: () => createMongoStockRepository(_client(), db),
    // Changes applied, movements left pending in the record, as a crash before the copy leaves them.
    crashing: () => createMongoStockRepository(_client(), db, { ledger: { enabled: false } }),
    async close() {
      await repo.close();
      await client.db(db).dropDatabase();
      await client.close();
    },
  };
}, { ignore: !url });

/**
 * `client`, except that once `arm()` is called the next `findOne` of a key's movement runs
 * `between` after its read and before it returns: another instance's work lands between a keyed
 * change's checks (the record read, then the key's movement) and its update.
 */
function interleaving(client: MongoClient, between: () => Promise<void>) {
  let pending: (() => Promise<void>) | undefined;
  const arm = () => (pending = between);
  const bound = <T extends object>(target: T, key: PropertyKey) => {
    const value = Reflect.get(target, key);
    return typeof value === "function" ? value.bind(target) : value;
  };
  const proxy = new Proxy(client, {
    get: (c, key) =>
      key !== "db" ? bound(c, key) : (name: string) =>
        new Proxy(c.db(name), {
          get: (db, k) =>
            k !== "collection" ? bound(db, k) : (collection: string) => {
              const inner = db.collection(collection);
              if (collection !== "stock_movement_keys") return inner;
              return new Proxy(inner, {
                get: (coll, m) =>
                  m !== "findOne" ? bound(coll, m) : async (...args: unknown[]) => {
                    // deno-lint-ignore no-explicit-any
                    const doc = await (coll.findOne as any)(...args);
                    const run = pending;
                    pending = undefined;
                    await run?.();
                    return doc;
                  },
              });
            },
        }),
  });
  return { client: proxy, arm };
}

const RACES = [
  // A first read, then the key and more keys than the record keeps, copied to the ledger.
  { remembered: false, newer: RECENT_KEYS + 6 },
  // The record as this instance's own change left it; then the key alone, or with more keys.
  { remembered: true, newer: 0 },
  { remembered: true, newer: RECENT_KEYS + 6 },
];

for (const { remembered, newer } of RACES) {
  Deno.test({
    name: `Mongo StockRepository: a key applied elsewhere, then ${newer} newer keys, between a ` +
      `retry's key check and its update, still applies once (${
        remembered ? "decided on a remembered record" : "after a read"
      })`,
    ignore: !url,
    async fn() {
      const db = `${dbName}_${crypto.randomUUID().slice(0, 8)}`;
      const client = _client();
      const other = await createMongoStockRepository(client, db, {
        closeClient: false,
        ledger: { flushAt: 1, delayMs: 1 },
      });
      const op = (key: string) => ({ op: { key, fingerprint: `fp-${key}` } });
      await create(other, "p-1", 1000);
      const racing = interleaving(client, async () => {
        // The first attempt of the key lands on the other instance, then newer keyed changes
        // (more than the record keeps keys for push the key out), and their copy to the ledger.
        assert.equal((await adjust(other, "p-1", -1, at(2), op("k-dup"))).ok, true);
        for (let i = 0; i < newer; i++) await adjust(other, "p-1", -1, at(2), op(`k-${i}`));
        await new Promise((resolve) => setTimeout(resolve, 100));
      });
      const retry = await createMongoStockRepository(racing.client, db, { closeClient: false });
      const warm = remembered ? 1 : 0;
      try {
        if (remembered) {
          assert.equal((await adjust(retry, "p-1", -1, at(1), op("k-warm"))).ok, true);
        }
        racing.arm();
        const again = await adjust(retry, "p-1", -1, at(3), op("k-dup"));
        assert.equal(again.ok && again.replayed, true, "the retry is a replay");
        assert.equal((await other.get("p-1"))?.quantity, 1000 - warm - 1 - newer);
        await assertLedger(other, "p-1", 1 + warm + 1 + newer);
      } finally {
        await retry.close();
        await other.close();
        await client.db(db).dropDatabase();
        await client.close();
      }
    },
  });
}

Deno.test({
  name: "Mongo StockRepository: a keyed change on a remembered record that another instance " +
    "deleted and created again applies to the new record",
  ignore: !url,
  async fn() {
    const db = `${dbName}_${crypto.randomUUID().slice(0, 8)}`;
    const client = _client();
    const one = await createMongoStockRepository(client, db, { closeClient: false });
    const two = await createMongoStockRepository(_client(), db);
    const op = (key: string) => ({ op: { key, fingerprint: `fp-${key}` } });
    try {
      await create(one, "p-1", 10);
      assert.equal((await adjust(one, "p-1", -1, at(1), op("k-1"))).ok, true);
      assert.deepEqual(await two.delete("p-1"), { ok: true });
      await create(two, "p-1", 5);
      const changed = await adjust(one, "p-1", -2, at(2), op("k-2"));
      assert.equal(changed.ok && !changed.replayed && changed.record.quantity, 3);
      assert.equal((await two.get("p-1"))?.quantity, 3);
      await assertLedger(two, "p-1", 2);
    } finally {
      await one.close();
      await two.close();
      await client.db(db).dropDatabase();
      await client.close();
    }
  },
});

Deno.test({
  name: "Mongo StockRepository: a keyed change that a remembered record would refuse is decided " +
    "on a fresh read: refused with no update sent, or applied when another instance made room",
  ignore: !url,
  async fn() {
    const db = `${dbName}_${crypto.randomUUID().slice(0, 8)}`;
    const updates: string[] = [];
    const client = new MongoClient(url ?? "", {
      serverSelectionTimeoutMS: 3_000,
      monitorCommands: true,
    });
    client.on("commandStarted", (e) => {
      if (e.commandName === "findAndModify") updates.push(e.commandName);
    });
    const one = await createMongoStockRepository(client, db, { closeClient: false });
    const two = await createMongoStockRepository(_client(), db);
    const op = (key: string) => ({ op: { key, fingerprint: `fp-${key}` } });
    const reserve = (r: typeof one, delta: number, reservedDelta: number, key: string) =>
      r.apply("p-1", { ...intent({ kind: "adjust", delta, reservedDelta }, at(2)), ...op(key) });
    try {
      await create(one, "p-1", 2);
      assert.equal((await adjust(one, "p-1", -2, at(1), op("k-1"))).ok, true);
      updates.length = 0;
      const refused = await adjust(one, "p-1", -1, at(2), op("k-2"));
      assert.equal(!refused.ok && refused.reason, "insufficient_stock");
      assert.deepEqual(updates, [], "no update for a refusal");
      // Another instance restocks and holds units this one has not seen: both pass here now.
      assert.equal((await adjust(two, "p-1", 5, at(3), op("k-3"))).ok, true);
      assert.equal((await reserve(two, -3, 3, "k-4")).ok, true);
      const released = await reserve(one, 3, -3, "k-5");
      assert.equal(released.ok && released.record.reserved, 0);
      assert.equal((await adjust(one, "p-1", -1, at(4), op("k-6"))).ok, true);
      assert.equal((await two.get("p-1"))?.quantity, 4);
      await assertLedger(two, "p-1", 6);
    } finally {
      await one.close();
      await two.close();
      await client.db(db).dropDatabase();
      await client.close();
    }
  },
});
