import assert from "node:assert/strict";
import { DomainError } from "@stockroom/kernel";
import { StockAlreadyExistsError } from "../../inventory/domain/errors.ts";
import type { StockRepository } from "../../inventory/domain/ports.ts";
import { MAX_QUANTITY } from "../../inventory/domain/stock.ts";
import {
  adjust,
  at,
  type ContractOptions,
  create,
  rec,
  recordOf,
  registerContractCase,
  set,
  type StockRepositoryHarness,
  T0,
} from "./stock_helpers.ts";
import { stockLedgerContract } from "./stock_ledger.ts";
import { stockListContract } from "./stock_list.ts";

export type { ContractOptions, StockRepositoryHarness };

function _isQuantityLimit(error: unknown): boolean {
  return error instanceof DomainError && error.code === "quantity_limit_exceeded";
}

/**
 * The behaviour every StockRepository adapter must share, one Deno test per case, so the
 * embedded KV store and MongoDB are held to the same cases (the ledger's in stock_ledger.ts).
 */
export function stockRepositoryContract(
  name: string,
  open: () => Promise<StockRepositoryHarness>,
  options: ContractOptions = {},
): void {
  const register = registerContractCase(name, open, options);
  const test = (title: string, fn: (repo: StockRepository) => Promise<void>) =>
    register(title, (harness) => fn(harness.repo));

  test("create() stores a record, version 1, that get() returns", async (repo) => {
    assert.deepEqual(recordOf(await create(repo, "p-1", 12)), rec("p-1", 12));
    assert.deepEqual(await repo.get("p-1"), rec("p-1", 12));
  });

  test("create() refuses a second record for a product", async (repo) => {
    await create(repo, "p-1", 12);
    await assert.rejects(create(repo, "p-1", 3, at(1)), StockAlreadyExistsError);
    assert.deepEqual(await repo.get("p-1"), rec("p-1", 12));
  });

  test("get() returns null for a product without a record", async (repo) => {
    assert.equal(await repo.get("missing"), null);
  });

  test("apply() buys and restocks, one version each", async (repo) => {
    await create(repo, "p-1", 20);
    assert.deepEqual(recordOf(await adjust(repo, "p-1", -5, at(1))), rec("p-1", 15, at(1), 2));
    assert.deepEqual(recordOf(await adjust(repo, "p-1", 10, at(2))), rec("p-1", 25, at(2), 3));
    assert.deepEqual(await repo.get("p-1"), rec("p-1", 25, at(2), 3));
  });

  test("apply() refuses to go below zero and changes nothing", async (repo) => {
    await create(repo, "p-1", 4);
    const refused = await adjust(repo, "p-1", -5, at(1));
    assert.deepEqual(refused, { ok: false, reason: "insufficient_stock", available: 4 });
    assert.deepEqual(await repo.get("p-1"), rec("p-1", 4));
    assert.deepEqual(recordOf(await adjust(repo, "p-1", -4, at(2))), rec("p-1", 0, at(2), 2));
  });

  test("apply() reports not_found for a missing product", async (repo) => {
    assert.deepEqual(await adjust(repo, "missing", -1, T0), { ok: false, reason: "not_found" });
    assert.deepEqual(await adjust(repo, "missing", 1, T0), { ok: false, reason: "not_found" });
    assert.deepEqual(await set(repo, "missing", 3, T0), { ok: false, reason: "not_found" });
    assert.equal(await repo.get("missing"), null);
  });

  test("apply() sets an absolute quantity", async (repo) => {
    await create(repo, "p-1", 9);
    assert.deepEqual(recordOf(await set(repo, "p-1", 2, at(1))), rec("p-1", 2, at(1), 2));
    assert.deepEqual(recordOf(await set(repo, "p-1", 2, at(1))), rec("p-1", 2, at(1), 3));
    assert.deepEqual(await repo.get("p-1"), rec("p-1", 2, at(1), 3));
  });

  test("apply() never exceeds MAX_QUANTITY", async (repo) => {
    await create(repo, "p-1", MAX_QUANTITY - 1);
    assert.equal(recordOf(await adjust(repo, "p-1", 1, at(1)))?.quantity, MAX_QUANTITY);
    await assert.rejects(adjust(repo, "p-1", 1, at(2)), _isQuantityLimit);
    await assert.rejects(set(repo, "p-1", MAX_QUANTITY + 1, at(2)), RangeError);
    await assert.rejects(create(repo, "p-2", MAX_QUANTITY + 1), RangeError);
    await assert.rejects(set(repo, "p-1", -1, at(2)), RangeError);
    assert.deepEqual(await repo.get("p-1"), rec("p-1", MAX_QUANTITY, at(1), 2));
    assert.equal(await repo.get("p-2"), null);
  });

  test("apply() lets exactly the available stock go under 200 concurrent buys", async (repo) => {
    await create(repo, "p-1", 50);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => adjust(repo, "p-1", -1, at(1 + i / 1000))),
    );
    const sold = results.filter((result) => result.ok);
    assert.equal(sold.length, 50);
    for (const result of results) {
      if (!result.ok) {
        assert.deepEqual(result, { ok: false, reason: "insufficient_stock", available: 0 });
      }
    }
    // Each sale saw a distinct version and left a distinct quantity: none lost, none doubled.
    assert.equal(new Set(sold.map((r) => r.ok && r.record.sequence)).size, 50);
    assert.equal(new Set(sold.map((r) => r.ok && r.record.quantity)).size, 50);
    assert.equal((await repo.get("p-1"))?.quantity, 0);
  });

  test("apply() loses no update under concurrent buys and restocks", async (repo) => {
    await create(repo, "p-1", 100);
    const deltas = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 3 : -2));
    const results = await Promise.all(deltas.map((delta) => adjust(repo, "p-1", delta, at(1))));
    assert.ok(results.every((result) => result.ok));
    assert.equal((await repo.get("p-1"))?.quantity, 150);
    assert.equal((await repo.get("p-1"))?.sequence, 101);
  });

  test("create() admits exactly one of 20 concurrent creates", async (repo) => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => create(repo, "p-1", i)),
    );
    const created = outcomes.filter((outcome) => outcome.status === "fulfilled");
    assert.equal(created.length, 1);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        assert.ok(outcome.reason instanceof StockAlreadyExistsError, String(outcome.reason));
      }
    }
    const winner = created[0]?.status === "fulfilled" ? recordOf(created[0].value) : undefined;
    assert.deepEqual(await repo.get("p-1"), winner);
  });

  test("delete() removes a record and reports whether there was one", async (repo) => {
    await create(repo, "p-1", 1);
    assert.deepEqual(await repo.delete("p-1"), { ok: true });
    assert.deepEqual(await repo.delete("p-1"), { ok: false, reason: "not_found" });
    assert.equal(await repo.get("p-1"), null);
    assert.deepEqual(recordOf(await create(repo, "p-1", 2, at(1))), rec("p-1", 2, at(1)));
  });

  test("ping() resolves when the store is reachable", async (repo) => {
    await repo.ping();
  });

  stockListContract(test);
  stockLedgerContract(register);
}
