import assert from "node:assert/strict";
import { FakeClock } from "../../tests/support/fake_clock.ts";
import type { ProductRepository } from "../domain/ports.ts";
import {
  type Product,
  ProductAlreadyExistsError,
  ProductNotFoundError,
} from "../domain/product.ts";
import { ProductService } from "./product_service.ts";

const ID = "00000000-0000-4000-8000-000000000001";

/** A repository in a Map, as the contract suite says every adapter behaves. */
function memoryRepository(): ProductRepository {
  const rows = new Map<string, Product>();
  return {
    create: (p, at) => {
      if (rows.has(p.id)) return Promise.resolve(null);
      const product = { ...p, createdAt: at, updatedAt: at };
      rows.set(p.id, product);
      return Promise.resolve(product);
    },
    read: (id) => {
      const product = rows.get(id);
      return Promise.resolve(product ? { product, cached: false } : null);
    },
    list: () => Promise.resolve({ items: [...rows.values()], total: rows.size }),
    update: (id, changes, at) => {
      const current = rows.get(id);
      if (!current) return Promise.resolve(null);
      const updated = { ...current, ...changes, updatedAt: at };
      rows.set(id, updated);
      return Promise.resolve(updated);
    },
    delete: (id) => Promise.resolve(rows.delete(id)),
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
  const service = new ProductService({
    repository: memoryRepository(),
    clock,
    newId: () => ID,
  });
  return { service, clock, log: recordingLog() };
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
