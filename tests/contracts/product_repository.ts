import assert from "node:assert/strict";
import type { ProductRepository } from "../../products/domain/ports.ts";
import {
  type Product,
  type ProductListQuery,
  VersionMismatch,
} from "../../products/domain/product.ts";

const AT = "2026-01-02T03:04:05.678Z";

function id(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

function at(minute: number): string {
  return `2026-01-01T00:${String(minute).padStart(2, "0")}:00.000Z`;
}

const listAll: ProductListQuery = { offset: 0, limit: 100, sort: [] };

/** A repository under test, with a way to empty its store between cases. */
export interface ProductRepositorySubject {
  /** Read again after each reset, which may replace it. */
  readonly repo: ProductRepository;
  /** Empties the store (and anything in front of it). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The one suite every ProductRepository adapter must pass (the SQL repository on PGlite and on
 * PostgreSQL, and the caching decorator in front of either), so they all behave alike. `open` is
 * called once; the store is emptied before each case.
 */
export function productRepositoryContract(
  name: string,
  open: () => Promise<ProductRepositorySubject>,
  options: { ignore?: boolean } = {},
): void {
  Deno.test({
    name: `ProductRepository contract: ${name}`,
    ignore: options.ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const db = await open();
      const findById = async (key: string) => (await db.repo.read(key))?.product ?? null;
      const step = (title: string, fn: () => Promise<void>) =>
        t.step(title, async () => {
          await db.reset();
          await fn();
        });
      try {
        await step("create() stores and returns the product exactly", async () => {
          const created = await db.repo.create(
            { id: id(1), name: "Mug ☕", description: "", price: 99_999_999.99 },
            AT,
          );
          assert.deepEqual(created, {
            id: id(1),
            name: "Mug ☕",
            description: "",
            price: 99_999_999.99,
            createdAt: AT,
            updatedAt: AT,
            version: 1,
          });
          assert.deepEqual(await findById(id(1)), created);
        });

        await step("create() returns null for a taken id and changes nothing", async () => {
          await db.repo.create({ id: id(1), name: "A", description: "a", price: 1 }, AT);
          assert.equal(
            await db.repo.create({ id: id(1), name: "B", description: "b", price: 2 }, AT),
            null,
          );
          assert.equal((await findById(id(1)))?.name, "A");
        });

        await step("prices keep their cents exactly", async () => {
          for (const [i, price] of [0, 0.01, 0.1, 19.99, 1234.5, 0.3].entries()) {
            await db.repo.create({ id: id(i), name: "p", description: "", price }, AT);
            assert.equal((await findById(id(i)))?.price, price);
          }
        });

        await step("text with quotes, SQL and 255 code points is stored verbatim", async () => {
          const name = "'; DROP TABLE products; --" + "😀".repeat(228);
          await db.repo.create({ id: id(1), name, description: "%_\\", price: 1 }, AT);
          assert.equal((await findById(id(1)))?.name, name);
          assert.equal((await findById(id(1)))?.description, "%_\\");
        });

        await step("read() returns null for an unknown id", async () => {
          assert.equal(await findById(id(404)), null);
        });

        await step("update() changes only the given fields and updated_at", async () => {
          await db.repo.create({ id: id(1), name: "A", description: "d", price: 1 }, AT);
          const later = "2026-02-02T00:00:00.000Z";
          const updated = await db.repo.update(id(1), { price: 2.5 }, later);
          assert.deepEqual(updated, {
            id: id(1),
            name: "A",
            description: "d",
            price: 2.5,
            createdAt: AT,
            updatedAt: later,
            version: 2,
          });
          assert.equal(await db.repo.update(id(2), { name: "x" }, later), null);
        });

        await step("the version starts at 1 and every update with changes adds one", async () => {
          await db.repo.create({ id: id(1), name: "A", description: "d", price: 1 }, AT);
          const versions = [];
          for (const [i, changes] of [{ name: "B" }, { name: "B" }, { price: 1 }].entries()) {
            const updated = await db.repo.update(id(1), changes, AT); // even in one millisecond
            versions.push((updated as Product).version);
            assert.equal((await findById(id(1)))?.version, i + 2);
          }
          assert.deepEqual(versions, [2, 3, 4], "a change to the same values is a change too");
        });

        await step("update() with no changes writes nothing and keeps the version", async () => {
          const created = await db.repo.create(
            { id: id(1), name: "A", description: "d", price: 1 },
            AT,
          );
          const later = "2026-02-02T00:00:00.000Z";
          assert.deepEqual(await db.repo.update(id(1), {}, later), created);
          assert.deepEqual(await db.repo.update(id(1), {}, later, [1]), created);
          assert.deepEqual(await db.repo.update(id(1), {}, later, [2]), new VersionMismatch(1));
          assert.deepEqual(await findById(id(1)), created);
          assert.equal(await db.repo.update(id(2), {}, later), null);
          assert.equal(await db.repo.update(id(2), {}, later, [1]), null);
        });

        await step(
          "a conditional update applies at an expected version; at another, it changes nothing",
          async () => {
            await db.repo.create({ id: id(1), name: "A", description: "d", price: 1 }, AT);
            const later = "2026-02-02T00:00:00.000Z";
            const updated = await db.repo.update(id(1), { price: 2 }, later, [1]);
            assert.deepEqual(
              [(updated as Product).price, (updated as Product).version],
              [2, 2],
            );
            const before = await findById(id(1));
            for (const expected of [[1], [3, 4], []]) {
              const refused = await db.repo.update(id(1), { name: "B" }, AT, expected);
              assert.ok(refused instanceof VersionMismatch, JSON.stringify(expected));
              assert.equal(refused.currentVersion, 2);
            }
            assert.deepEqual(await findById(id(1)), before, "nothing changed");
            const listed = await db.repo.update(id(1), { name: "C" }, later, [9, 2]);
            assert.deepEqual([(listed as Product).name, (listed as Product).version], ["C", 3]);
            assert.equal(await db.repo.update(id(2), { name: "x" }, later, [1]), null);
          },
        );

        await step(
          "a conditional delete removes at an expected version; at another, nothing",
          async () => {
            await db.repo.create({ id: id(1), name: "A", description: "d", price: 1 }, AT);
            assert.deepEqual(await db.repo.delete(id(1), [2]), new VersionMismatch(1));
            assert.deepEqual(await db.repo.delete(id(1), []), new VersionMismatch(1));
            assert.equal((await findById(id(1)))?.version, 1, "still there");
            assert.equal(await db.repo.delete(id(1), [2, 1]), true);
            assert.equal(await db.repo.delete(id(1), [1]), false);
            assert.equal(await findById(id(1)), null);
          },
        );

        await step("of 20 racing updates expecting one version, exactly one applies", async () => {
          await db.repo.create({ id: id(1), name: "A", description: "d", price: 1 }, AT);
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => db.repo.update(id(1), { price: 10 + i }, AT, [1])),
          );
          const applied = results.filter((r): r is Product => r !== null && "id" in r);
          const refused = results.filter((r) => r instanceof VersionMismatch);
          assert.deepEqual([applied.length, refused.length], [1, 19]);
          assert.ok(refused.every((r) => r.currentVersion === 2));
          const stored = await findById(id(1));
          assert.deepEqual([stored?.version, stored?.price], [2, applied[0]!.price]);
        });

        await step("delete() removes once", async () => {
          await db.repo.create({ id: id(1), name: "A", description: "d", price: 1 }, AT);
          assert.equal(await db.repo.delete(id(1)), true);
          assert.equal(await db.repo.delete(id(1)), false);
          assert.equal(await findById(id(1)), null);
        });

        await step("list() pages, counts and orders by created_at then id", async () => {
          for (let i = 1; i <= 5; i++) {
            await db.repo.create(
              { id: id(6 - i), name: `n${i}`, description: "", price: i },
              at(i === 5 ? 4 : i),
            );
          }
          const all = await db.repo.list(listAll);
          assert.equal(all.total, 5);
          assert.deepEqual(all.items.map((p) => p.name), ["n1", "n2", "n3", "n5", "n4"]);
          const page = await db.repo.list({ ...listAll, offset: 2, limit: 2 });
          assert.equal(page.total, 5);
          assert.deepEqual(page.items.map((p) => p.name), ["n3", "n5"]);
          const past = await db.repo.list({ ...listAll, offset: 10, limit: 2 });
          assert.deepEqual([past.items.length, past.total], [0, 5]);
        });

        await step("list() sorts by several fields in both directions", async () => {
          const rows: [string, number][] = [["b", 3], ["a", 3], ["c", 1]];
          for (const [i, [name, price]] of rows.entries()) {
            await db.repo.create({ id: id(i), name, description: "", price }, at(i));
          }
          const names = async (sort: ProductListQuery["sort"]) =>
            (await db.repo.list({ ...listAll, sort })).items.map((p) => p.name);
          assert.deepEqual(await names([{ field: "name", descending: false }]), ["a", "b", "c"]);
          assert.deepEqual(await names([{ field: "name", descending: true }]), ["c", "b", "a"]);
          assert.deepEqual(
            await names([{ field: "price", descending: true }, {
              field: "name",
              descending: false,
            }]),
            ["a", "b", "c"],
          );
          assert.deepEqual(await names([{ field: "created_at", descending: true }]), [
            "c",
            "a",
            "b",
          ]);
          assert.deepEqual(await names([{ field: "updated_at", descending: false }]), [
            "b",
            "a",
            "c",
          ]);
        });

        await step(
          "list() filters by name substring, case-insensitively and literally",
          async () => {
            const names = ["Red Mug", "blue mug", "Plate", "100% cotton", "under_score"];
            for (const [i, name] of names.entries()) {
              await db.repo.create({ id: id(i), name, description: "", price: i }, at(i));
            }
            const found = async (text: string) =>
              (await db.repo.list({ ...listAll, nameContains: text })).items.map((p) => p.name);
            assert.deepEqual(await found("MUG"), ["Red Mug", "blue mug"]);
            assert.deepEqual(await found("%"), ["100% cotton"]);
            assert.deepEqual(await found("_"), ["under_score"]);
            assert.deepEqual(await found("zzz"), []);
          },
        );

        await step("list() filters by price range inclusively", async () => {
          for (const [i, price] of [1, 9.99, 10, 10.01, 50].entries()) {
            await db.repo.create({ id: id(i), name: "p", description: "", price }, at(i));
          }
          const prices = async (minPrice?: number, maxPrice?: number) => {
            const page = await db.repo.list({ ...listAll, minPrice, maxPrice });
            return [page.items.map((p) => p.price), page.total];
          };
          assert.deepEqual(await prices(10), [[10, 10.01, 50], 3]);
          assert.deepEqual(await prices(undefined, 10), [[1, 9.99, 10], 3]);
          assert.deepEqual(await prices(9.99, 10.01), [[9.99, 10, 10.01], 3]);
        });

        await step("ping() answers", async () => {
          await db.repo.ping();
        });
      } finally {
        await db.close();
      }
    },
  });
}
