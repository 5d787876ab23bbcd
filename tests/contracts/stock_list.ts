import assert from "node:assert/strict";
import type { StockRepository } from "../../inventory/domain/ports.ts";
import type { StockListQuery, StockRecord, StockSortField } from "../../inventory/domain/stock.ts";
import { adjust, at, create, rec, set } from "./stock_helpers.ts";

function _query(
  field: StockSortField,
  options: Partial<Omit<StockListQuery, "sort">> & { descending?: boolean } = {},
): StockListQuery {
  const { descending = false, offset = 0, limit = 20, maxQuantity } = options;
  return { offset, limit, sort: { field, descending }, maxQuantity };
}

/** The order the contract promises: by the field, then the product id, both in one direction. */
function _expected(records: StockRecord[], field: StockSortField, descending: boolean) {
  const value = (record: StockRecord) =>
    field === "quantity" ? record.quantity : record.lastUpdated.getTime();
  const sign = descending ? -1 : 1;
  return [...records].sort((a, b) =>
    sign * (value(a) - value(b) || (a.productId < b.productId ? -1 : 1))
  );
}

const fixtures = [
  rec("b", 5, at(3)),
  rec("a", 5, at(1)),
  rec("d", 0, at(3)),
  rec("c", 12, at(2)),
  rec("f", 3, at(0)),
  rec("e", 3, at(3)),
];

async function seed(repo: StockRepository) {
  for (const r of fixtures) await create(repo, r.productId, r.quantity, r.lastUpdated);
}

/** The list cases of the StockRepository contract. */
export function stockListContract(
  test: (title: string, fn: (repo: StockRepository) => Promise<void>) => void,
): void {
  test("list() sorts by either field, both ways, ties by product id", async (repo) => {
    await seed(repo);
    for (const field of ["quantity", "last_updated"] as const) {
      for (const descending of [false, true]) {
        const page = await repo.list(_query(field, { descending, limit: 100 }));
        assert.deepEqual(page, { items: _expected(fixtures, field, descending), total: 6 });
      }
    }
  });

  test("list() pages with offset and limit and counts the total", async (repo) => {
    await seed(repo);
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
    await seed(repo);
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
    assert.deepEqual(outOfStock, { items: [rec("d", 0, at(3))], total: 1 });
  });

  test("list() reflects changes and deletes", async (repo) => {
    await seed(repo);
    await adjust(repo, "c", -12, at(9));
    await set(repo, "f", 40, at(-1));
    await repo.delete("b");
    const changed = new Map([["c", rec("c", 0, at(9), 2)], ["f", rec("f", 40, at(-1), 2)]]);
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
}
