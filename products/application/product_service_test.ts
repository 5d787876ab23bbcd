import assert from "node:assert/strict";
import { FakeClock } from "../../tests/support/fake_clock.ts";
import type { ProductRepository } from "../domain/ports.ts";
import {
  type Product,
  ProductAlreadyExistsError,
  ProductNotFoundError,
  ProductPreconditionFailedError,
  VersionMismatch,
} from "../domain/product.ts";
import { ProductService } from "./product_service.ts";

const ID = "00000000-0000-4000-8000-000000000001";

/** A repository in a Map, as the contract suite says every adapter behaves. */
function memoryRepository(): ProductRepository & { writes: number } {
  const rows = new Map<string, Product>();
  const mismatch = (id: string, expected?: readonly number[]) => {
    const current = rows.get(id);
    return current && expected && !expected.includes(current.version)
      ? new VersionMismatch(current.version)
      : undefined;
  };
  return {
    writes: 0,
    create: (p, at) => {
      if (rows.has(p.id)) return Promise.resolve(null);
      const product = { ...p, createdAt: at, updatedAt: at, version: 1 };
      rows.set(p.id, product);
      return Promise.resolve(product);
    },
    read: (id) => {
      const product = rows.get(id);
      return Promise.resolve(product ? { product, cached: false } : null);
    },
    list: () => Promise.resolve({ items: [...rows.values()], total: rows.size }),
    update(id, changes, at, expected) {
      const current = rows.get(id);
      if (!current) return Promise.resolve(null);
      const refused = mismatch(id, expected);
      if (refused) return Promise.resolve(refused);
      if (Object.keys(changes).length === 0) return Promise.resolve(current);
      this.writes++;
      const updated = { ...current, ...changes, updatedAt: at, version: current.version + 1 };
      rows.set(id, updated);
      return Promise.resolve(updated);
    },
    delete(id, expected) {
      const refused = mismatch(id, expected);
      if (refused) return Promise.resolve(refused);
      if (rows.has(id)) this.writes++;
      return Promise.resolve(rows.delete(id));
    },
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

function recordingLog() {
  const events: string[] = [];
  const keep = (_fields: Record<string, unknown>, message: string) => void events.push(message);
  return { events, info: keep, warn: keep, error: keep };
}

function setup() {
  const clock = new FakeClock("2026-03-04T05:06:07.089Z");
  const repository = memoryRepository();
  const service = new ProductService({ repository, clock, newId: () => ID });
  return { service, clock, repository, log: recordingLog() };
}

Deno.test("ProductService.create() stamps the clock's time and a new id, and logs the event", async () => {
  const { service, log } = setup();
  const created = await service.create({ name: "Mug", description: "", price: 3 }, log);
  assert.equal(created.id, ID);
  assert.equal(created.createdAt, "2026-03-04T05:06:07.089Z");
  assert.deepEqual(log.events, ["product.created"]);
});

Deno.test("ProductService.create() lower-cases a client id and refuses a taken one", async () => {
  const { service, log } = setup();
  const created = await service.create({
    id: ID.toUpperCase(),
    name: "x",
    description: "",
    price: 1,
  }, log);
  assert.equal(created.id, ID);
  await assert.rejects(
    service.create({ id: ID, name: "x", description: "", price: 1 }, log),
    ProductAlreadyExistsError,
  );
});

Deno.test("ProductService.update() stamps updated_at from the clock; an empty change is a read", async () => {
  const { service, clock, log } = setup();
  await service.create({ name: "Mug", description: "", price: 3 }, log);
  clock.advance(60_000);
  const updated = await service.update(ID, { price: 4 }, log);
  assert.deepEqual([updated.price, updated.updatedAt], [4, "2026-03-04T05:07:07.089Z"]);
  clock.advance(60_000);
  const same = await service.update(ID, {}, log);
  assert.equal(same.updatedAt, "2026-03-04T05:07:07.089Z", "nothing changed, nothing stamped");
  assert.deepEqual(log.events, ["product.created", "product.updated", "product.updated"]);
});

Deno.test("ProductService reports a missing product on get(), update() and delete()", async () => {
  const { service, log } = setup();
  await assert.rejects(service.get(ID), ProductNotFoundError);
  await assert.rejects(service.update(ID, { name: "x" }, log), ProductNotFoundError);
  await assert.rejects(service.update(ID, {}, log), ProductNotFoundError);
  await assert.rejects(service.delete(ID, log), ProductNotFoundError);
  assert.deepEqual(log.events, []);
});

Deno.test("ProductService.get() finds an id whatever its case", async () => {
  const { service, log } = setup();
  await service.create({ name: "Mug", description: "", price: 3 }, log);
  assert.equal((await service.get(ID.toUpperCase())).product.id, ID);
  await service.delete(ID, log);
  await assert.rejects(service.get(ID), ProductNotFoundError);
});

Deno.test("ProductService.update() with expected versions changes only a product at one of them", async () => {
  const { service, repository, log } = setup();
  await service.create({ name: "Mug", description: "", price: 3 }, log);
  const updated = await service.update(ID, { price: 4 }, log, [1]);
  assert.deepEqual([updated.price, updated.version], [4, 2]);
  const refused = await service.update(ID, { price: 5 }, log, [1, 3]).catch((err) => err);
  assert.ok(refused instanceof ProductPreconditionFailedError);
  assert.deepEqual([refused.kind, refused.code, refused.currentVersion], [
    "precondition_failed",
    "precondition_failed",
    2,
  ]);
  await assert.rejects(service.update(ID, { price: 5 }, log, []), ProductPreconditionFailedError);
  assert.equal((await service.get(ID)).product.price, 4, "nothing changed");
  await assert.rejects(
    service.update("00000000-0000-4000-8000-000000000009", { price: 5 }, log, [1]),
    ProductNotFoundError,
  );
  assert.equal(repository.writes, 1);
});

Deno.test("ProductService.update() checks an empty change's expected versions without writing", async () => {
  const { service, repository, log } = setup();
  await service.create({ name: "Mug", description: "", price: 3 }, log);
  assert.equal((await service.update(ID, {}, log, [1])).version, 1);
  await assert.rejects(service.update(ID, {}, log, [2]), ProductPreconditionFailedError);
  assert.equal(repository.writes, 0);
});

Deno.test("ProductService.delete() with expected versions deletes only a product at one of them", async () => {
  const { service, log } = setup();
  await service.create({ name: "Mug", description: "", price: 3 }, log);
  await assert.rejects(service.delete(ID, log, [2]), ProductPreconditionFailedError);
  assert.equal((await service.get(ID)).product.id, ID, "still there");
  await service.delete(ID, log, [1]);
  await assert.rejects(service.delete(ID, log, [1]), ProductNotFoundError);
  assert.deepEqual(log.events, ["product.created", "product.deleted"]);
});
