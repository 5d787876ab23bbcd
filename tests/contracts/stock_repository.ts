import assert from "node:assert/strict";
import { DomainError } from "@stockroom/kernel";
import { StockAlreadyExistsError } from "../../inventory/domain/errors.ts";
import type { StockRepository } from "../../inventory/domain/ports.ts";
import { MAX_QUANTITY } from "../../inventory/domain/stock.ts";
import type { StockListQuery, StockRecord, StockSortField } from "../../inventory/domain/stock.ts";

export interface StockRepositoryHarness {
  repo: StockRepository;
  /** Empties the store, so each case starts from nothing. */
  reset(): Promise<void>;
  /** Releases everything `open` acquired, so Deno's sanitizers pass. */
  close(): Promise<void>;
}

export interface ContractOptions {
  ignore?: boolean;
  /** Turn off for drivers that finish socket and timer clean-up after close() resolves. */
  sanitize?: boolean;
}

/** Registers one contract case per Deno test, each on a freshly opened and reset store. */
export function registerContractCase<T>(
  name: string,
  open: () => Promise<{ reset(): Promise<void>; close(): Promise<void> } & T>,
  options: ContractOptions,
): (title: string, fn: (harness: T) => Promise<void>) => void {
  return function test(title, fn) {
    Deno.test({
      name: `${name}: ${title}`,
      ignore: options.ignore ?? false,
      sanitizeOps: options.sanitize ?? true,
      sanitizeResources: options.sanitize ?? true,
      async fn() {
        const harness = await open();
        try {
          await harness.reset();
          await fn(harness);
        } finally {
          await harness.close();
        }
      },
    });
  };
}

const T0 = new Date("2026-01-01T00:00:00.000Z");

function _at(minutes: number): Date {
  return new Date(T0.getTime() + minutes * 60_000);
}

function _record(productId: string, quantity: number, at = T0): StockRecord {
  return { productId, quantity, lastUpdated: at };
}

function _isQuantityLimit(error: unknown): boolean {
  return error instanceof DomainError && error.code === "quantity_limit_exceeded";
}

/**
 * The behaviour every StockRepository adapter must share, registered as one Deno test per case so
 * the embedded KV store and MongoDB are held to the same cases.
 */
export function stockRepositoryContract(
  name: string,
  open: () => Promise<StockRepositoryHarness>,
  options: ContractOptions = {},
): void {
  const register = registerContractCase(name, open, options);
  function test(title: string, fn: (repo: StockRepository) => Promise<void>) {
    register(title, (harness) => fn(harness.repo));
  }

  test("adjust() with an operation key applies once; a retry is replayed and changes nothing", async (repo) => {
    await repo.create(_record("p-op", 10));
    const first = await repo.adjust("p-op", -3, _at(1), "key-1");
    assert.ok(first.ok && !first.replayed);
    const again = await repo.adjust("p-op", -3, _at(2), "key-1");
    assert.ok(again.ok && again.replayed === true);
    assert.equal(again.after.quantity, 7);
    assert.equal((await repo.get("p-op"))?.quantity, 7);
    const other = await repo.adjust("p-op", -3, _at(3), "key-2");
    assert.ok(other.ok && !other.replayed);
    assert.equal((await repo.get("p-op"))?.quantity, 4);
    const unkeyed = await repo.adjust("p-op", -1, _at(4));
    assert.ok(unkeyed.ok && !unkeyed.replayed);
    assert.equal((await repo.get("p-op"))?.quantity, 3);
  });

  test("set() with an operation key applies once", async (repo) => {
    await repo.create(_record("p-set-op", 10));
    assert.ok((await repo.set("p-set-op", 4, _at(1), "key-s")).ok);
    await repo.adjust("p-set-op", 5, _at(2));
    const again = await repo.set("p-set-op", 4, _at(3), "key-s");
    assert.ok(again.ok && again.replayed === true);
    assert.equal((await repo.get("p-set-op"))?.quantity, 9, "the retried set changed nothing");
  });

  test("concurrent retries of one keyed purchase apply it once", async (repo) => {
    await repo.create(_record("p-op-race", 100));
    const results = await Promise.all(
      Array.from({ length: 20 }, () => repo.adjust("p-op-race", -1, _at(1), "race-key")),
    );
    assert.equal(results.filter((r) => r.ok && !r.replayed).length, 1);
    assert.equal((await repo.get("p-op-race"))?.quantity, 99);
  });

  test("create() stores a record that get() returns", async (repo) => {
    const created = await repo.create(_record("p-1", 12));
    assert.deepEqual(created, _record("p-1", 12));
    assert.deepEqual(await repo.get("p-1"), _record("p-1", 12));
  });

  test("create() refuses a second record for a product", async (repo) => {
    await repo.create(_record("p-1", 12));
    await assert.rejects(repo.create(_record("p-1", 3, _at(1))), StockAlreadyExistsError);
    assert.deepEqual(await repo.get("p-1"), _record("p-1", 12));
  });

  test("get() returns null for a product without a record", async (repo) => {
    assert.equal(await repo.get("missing"), null);
  });

  test("adjust() buys and restocks", async (repo) => {
    await repo.create(_record("p-1", 20));
    assert.deepEqual(await repo.adjust("p-1", -5, _at(1)), {
      ok: true,
      before: _record("p-1", 20),
      after: _record("p-1", 15, _at(1)),
    });
    assert.deepEqual(await repo.adjust("p-1", 10, _at(2)), {
      ok: true,
      before: _record("p-1", 15, _at(1)),
      after: _record("p-1", 25, _at(2)),
    });
    assert.deepEqual(await repo.get("p-1"), _record("p-1", 25, _at(2)));
  });

  test("adjust() refuses to go below zero and changes nothing", async (repo) => {
    await repo.create(_record("p-1", 4));
    const refused = await repo.adjust("p-1", -5, _at(1));
    assert.deepEqual(refused, { ok: false, reason: "insufficient_stock", available: 4 });
    assert.deepEqual(await repo.get("p-1"), _record("p-1", 4));
    const exact = await repo.adjust("p-1", -4, _at(2));
    assert.deepEqual(exact.ok && exact.after, _record("p-1", 0, _at(2)));
  });

  test("adjust() and set() report not_found for a missing product", async (repo) => {
    assert.deepEqual(await repo.adjust("missing", -1, T0), { ok: false, reason: "not_found" });
    assert.deepEqual(await repo.adjust("missing", 1, T0), { ok: false, reason: "not_found" });
    assert.deepEqual(await repo.set("missing", 3, T0), { ok: false, reason: "not_found" });
    assert.equal(await repo.get("missing"), null);
  });

  test("set() replaces the quantity and returns the previous one", async (repo) => {
    await repo.create(_record("p-1", 9));
    assert.deepEqual(await repo.set("p-1", 2, _at(1)), {
      ok: true,
      before: _record("p-1", 9),
      after: _record("p-1", 2, _at(1)),
    });
    const same = await repo.set("p-1", 2, _at(1));
    assert.deepEqual(same.ok && same.after, _record("p-1", 2, _at(1)));
    assert.deepEqual(await repo.get("p-1"), _record("p-1", 2, _at(1)));
    assert.deepEqual((await repo.list(_query("quantity"))).items, [_record("p-1", 2, _at(1))]);
  });

  test("set() and adjust() never exceed MAX_QUANTITY", async (repo) => {
    await repo.create(_record("p-1", MAX_QUANTITY - 1));
    const reached = await repo.adjust("p-1", 1, _at(1));
    assert.equal(reached.ok && reached.after.quantity, MAX_QUANTITY);
    await assert.rejects(repo.adjust("p-1", 1, _at(2)), _isQuantityLimit);
    await assert.rejects(repo.set("p-1", MAX_QUANTITY + 1, _at(2)), RangeError);
    await assert.rejects(repo.create(_record("p-2", MAX_QUANTITY + 1)), RangeError);
    await assert.rejects(repo.set("p-1", -1, _at(2)), RangeError);
    assert.deepEqual(await repo.get("p-1"), _record("p-1", MAX_QUANTITY, _at(1)));
    assert.equal(await repo.get("p-2"), null);
  });

  const fixtures = [
    _record("b", 5, _at(3)),
    _record("a", 5, _at(1)),
    _record("d", 0, _at(3)),
    _record("c", 12, _at(2)),
    _record("f", 3, _at(0)),
    _record("e", 3, _at(3)),
  ];

  test("list() sorts by either field, both ways, ties by product id", async (repo) => {
    for (const record of fixtures) await repo.create(record);
    for (const field of ["quantity", "last_updated"] as const) {
      for (const descending of [false, true]) {
        const page = await repo.list(_query(field, { descending, limit: 100 }));
        assert.deepEqual(page, { items: _expected(fixtures, field, descending), total: 6 });
      }
    }
  });

  test("list() pages with offset and limit and counts the total", async (repo) => {
    for (const record of fixtures) await repo.create(record);
    // [descending, offset, limit]
    const pages: [boolean, number, number][] = [
      [false, 0, 4],
      [false, 4, 4],
      [false, 6, 4],
      [true, 1, 2],
      [true, 5, 0],
    ];
    for (const field of ["quantity", "last_updated"] as const) {
      for (const [descending, offset, limit] of pages) {
        const items = _expected(fixtures, field, descending).slice(offset, offset + limit);
        const page = await repo.list(_query(field, { descending, offset, limit }));
        assert.deepEqual(page, { items, total: 6 }, `${field} ${descending} ${offset} ${limit}`);
      }
    }
  });

  test("list() filters by maxQuantity with a matching total", async (repo) => {
    for (const record of fixtures) await repo.create(record);
    const low = fixtures.filter((record) => record.quantity <= 3);
    for (const field of ["quantity", "last_updated"] as const) {
      for (const descending of [false, true]) {
        const query = _query(field, { descending, maxQuantity: 3, offset: 1, limit: 2 });
        assert.deepEqual(await repo.list(query), {
          items: _expected(low, field, descending).slice(1, 3),
          total: 3,
        });
      }
    }
    const outOfStock = await repo.list(_query("quantity", { maxQuantity: 0 }));
    assert.deepEqual(outOfStock, { items: [_record("d", 0, _at(3))], total: 1 });
  });

  test("list() reflects adjustments, sets and deletes", async (repo) => {
    for (const record of fixtures) await repo.create(record);
    await repo.adjust("c", -12, _at(9));
    await repo.set("f", 40, _at(-1));
    await repo.delete("b");
    const changed = new Map([["c", _record("c", 0, _at(9))], ["f", _record("f", 40, _at(-1))]]);
    const now = fixtures
      .filter((record) => record.productId !== "b")
      .map((record) => changed.get(record.productId) ?? record);
    for (const field of ["quantity", "last_updated"] as const) {
      assert.deepEqual(await repo.list(_query(field)), {
        items: _expected(now, field, false),
        total: 5,
      });
    }
    const low = now.filter((record) => record.quantity <= 3);
    assert.deepEqual(await repo.list(_query("last_updated", { maxQuantity: 3 })), {
      items: _expected(low, "last_updated", false),
      total: 3,
    });
  });

  test("delete() removes a record and reports whether there was one", async (repo) => {
    await repo.create(_record("p-1", 1));
    assert.equal(await repo.delete("p-1"), true);
    assert.equal(await repo.delete("p-1"), false);
    assert.equal(await repo.get("p-1"), null);
    assert.deepEqual(await repo.list(_query("quantity")), { items: [], total: 0 });
    assert.deepEqual(await repo.create(_record("p-1", 2, _at(1))), _record("p-1", 2, _at(1)));
  });

  test("adjust() lets exactly the available stock go under 200 concurrent buys", async (repo) => {
    await repo.create(_record("p-1", 50));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => repo.adjust("p-1", -1, _at(1 + i / 1000))),
    );
    const sold = results.filter((result) => result.ok);
    assert.equal(sold.length, 50);
    for (const result of results) {
      if (result.ok) {
        assert.equal(result.after.quantity, result.before.quantity - 1);
        assert.ok(result.after.quantity >= 0);
      } else {
        assert.equal(result.reason, "insufficient_stock");
        assert.equal(result.reason === "insufficient_stock" && result.available, 0);
      }
    }
    // Each applied buy saw a distinct quantity, so none was lost or double-counted.
    const seen = new Set(sold.map((result) => result.ok && result.before.quantity));
    assert.equal(seen.size, 50);
    assert.equal((await repo.get("p-1"))?.quantity, 0);
  });

  test("adjust() loses no update under concurrent buys and restocks", async (repo) => {
    await repo.create(_record("p-1", 100));
    const deltas = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 3 : -2));
    const results = await Promise.all(deltas.map((delta) => repo.adjust("p-1", delta, _at(1))));
    assert.ok(results.every((result) => result.ok));
    assert.equal((await repo.get("p-1"))?.quantity, 150);
  });

  test("create() admits exactly one of 20 concurrent creates", async (repo) => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => repo.create(_record("p-1", i))),
    );
    const created = outcomes.filter((outcome) => outcome.status === "fulfilled");
    assert.equal(created.length, 1);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        assert.ok(outcome.reason instanceof StockAlreadyExistsError, String(outcome.reason));
      }
    }
    const winner = created[0]?.status === "fulfilled" ? created[0].value : undefined;
    assert.deepEqual(await repo.get("p-1"), winner);
    assert.equal((await repo.list(_query("quantity"))).total, 1);
  });

  test("ping() resolves when the store is reachable", async (repo) => {
    await repo.ping();
  });
}

function _query(
  field: StockSortField,
  options: Partial<Omit<StockListQuery, "sort">> & { descending?: boolean } = {},
): StockListQuery {
  const { descending = false, offset = 0, limit = 20, maxQuantity } = options;
  return { offset, limit, sort: { field, descending }, maxQuantity };
}

/** The order the contract promises: by the field, then the product id, both in one direction. */
function _expected(
  records: StockRecord[],
  field: StockSortField,
  descending: boolean,
): StockRecord[] {
  const value = (record: StockRecord) =>
    field === "quantity" ? record.quantity : record.lastUpdated.getTime();
  const sign = descending ? -1 : 1;
  return [...records].sort((a, b) =>
    sign * (value(a) - value(b) || (a.productId < b.productId ? -1 : 1))
  );
}
