import assert from "node:assert/strict";
import type { StockRepository } from "../../inventory/domain/ports.ts";
import {
  adjust,
  assertLedger,
  at,
  create,
  intent,
  ledger,
  rec,
  recordOf,
  set,
  type StockRepositoryHarness,
} from "./stock_helpers.ts";

const key = (k: string, fingerprint = `fp-${k}`) => ({ op: { key: k, fingerprint } });

/** The ledger, keyed changes and `If-Match` cases of the StockRepository contract. */
export function stockLedgerContract(
  register: (title: string, fn: (harness: StockRepositoryHarness) => Promise<void>) => void,
): void {
  const test = (title: string, fn: (repo: StockRepository) => Promise<void>) =>
    register(title, (harness) => fn(harness.repo));

  test("every applied change writes exactly one movement, with its reason and request", async (repo) => {
    await create(repo, "p-1", 10, at(0), { requestId: "r-create" });
    await adjust(repo, "p-1", -3, at(1), { requestId: "r-buy", reference: "order-7" });
    await adjust(repo, "p-1", 5, at(2), { reason: "return", requestId: "r-rma", ...key("k-1") });
    await set(repo, "p-1", 4, at(3), { requestId: "r-count" });
    // Refused and missing changes write none.
    assert.equal((await adjust(repo, "p-1", -99, at(4))).ok, false);
    assert.equal((await adjust(repo, "nope", -1, at(4))).ok, false);
    const movements = await assertLedger(repo, "p-1", 4);
    assert.deepEqual(
      movements.map((m) => [m.sequence, m.delta, m.quantity, m.reason, m.reference, m.requestId]),
      [
        [1, 10, 10, "initial", null, "r-create"],
        [2, -3, 7, "purchase", "order-7", "r-buy"],
        [3, 5, 12, "return", null, "r-rma"],
        [4, -8, 4, "correction", null, "r-count"],
      ],
    );
    assert.deepEqual(movements.map((m) => m.idempotencyKey), [null, null, "k-1", null]);
    assert.deepEqual(
      movements.map((m) => m.occurredAt.getTime()),
      [0, 1, 2, 3].map((n) => at(n).getTime()),
    );
    assert.ok(
      movements.every((m) => m.productId === "p-1" && m.reservedDelta === 0 && m.reserved === 0),
    );
    assert.ok(movements.every((m) => m.reservationId === null));
  });

  test("movements() pages by sequence, and is null for a product without a record", async (repo) => {
    await create(repo, "p-1", 1);
    for (let i = 0; i < 9; i++) await adjust(repo, "p-1", 1, at(i + 1));
    const page = await repo.movements("p-1", { after: 3, limit: 4 });
    assert.deepEqual(page?.map((m) => m.sequence), [4, 5, 6, 7]);
    assert.deepEqual(
      (await repo.movements("p-1", { after: 9, limit: 4 }))?.map((m) => m.sequence),
      [10],
    );
    assert.deepEqual(await repo.movements("p-1", { after: 10, limit: 4 }), []);
    assert.equal(await repo.movements("nope", { after: 0, limit: 4 }), null);
  });

  test("deleting a record deletes its ledger; a new record starts a new one", async (repo) => {
    await create(repo, "p-1", 5);
    await adjust(repo, "p-1", -1, at(1));
    await repo.delete("p-1");
    assert.equal(await repo.movements("p-1", { after: 0, limit: 10 }), null);
    await create(repo, "p-1", 7, at(2));
    const movements = await assertLedger(repo, "p-1", 1);
    assert.deepEqual(movements.map((m) => [m.sequence, m.delta]), [[1, 7]]);
  });

  test("a keyed change applies once; its retry is the first answer again and writes nothing", async (repo) => {
    await create(repo, "p-1", 10);
    const first = await adjust(repo, "p-1", -3, at(1), key("k-1"));
    assert.ok(first.ok && !first.replayed);
    await adjust(repo, "p-1", -1, at(2));
    const again = await adjust(repo, "p-1", -3, at(3), key("k-1"));
    assert.ok(again.ok && again.replayed);
    assert.deepEqual([again.record, again.movement], [first.record, first.movement]);
    assert.deepEqual(
      await adjust(repo, "p-1", -3, at(4), key("k-1", "another request")),
      { ok: false, reason: "key_reused" },
    );
    const set1 = await set(repo, "p-1", 20, at(5), key("k-2"));
    const set2 = await set(repo, "p-1", 20, at(6), key("k-2"));
    assert.ok(set2.ok && set2.replayed && set1.ok && set2.record.sequence === set1.record.sequence);
    assert.deepEqual(await repo.get("p-1"), rec("p-1", 20, at(5), 4));
    await assertLedger(repo, "p-1", 4);
  });

  test("replayed() answers a keyed change from its movement, in one read, and nothing else", async (repo) => {
    await create(repo, "p-1", 10);
    const buy = (fingerprint = "fp-k") =>
      intent({ kind: "adjust", delta: -2 }, at(1), {
        op: { key: "k", fingerprint },
      });
    assert.equal(await repo.replayed("p-1", buy()), null, "not applied yet");
    const first = await repo.apply("p-1", buy());
    assert.ok(first.ok);
    const again = await repo.replayed("p-1", buy());
    assert.deepEqual(again, { ...first, replayed: true });
    assert.deepEqual(await repo.replayed("p-1", buy("other")), {
      ok: false,
      reason: "key_reused",
    });
    assert.equal(await repo.replayed("p-1", intent({ kind: "adjust", delta: -2 }, at(1))), null);
    assert.equal(await repo.replayed("nope", buy()), null);
    assert.equal((await repo.get("p-1"))?.quantity, 8);
  });

  test("concurrent retries of one keyed purchase apply it once", async (repo) => {
    await create(repo, "p-1", 100);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => adjust(repo, "p-1", -1, at(1), key("race"))),
    );
    assert.equal(results.filter((r) => r.ok && !r.replayed).length, 1);
    assert.ok(results.every((r) => r.ok));
    assert.equal((await repo.get("p-1"))?.quantity, 99);
    await assertLedger(repo, "p-1", 2);
  });

  test("a keyed create is replayed, not refused, when its answer was lost", async (repo) => {
    const first = await create(repo, "p-1", 5, at(0), key("k-new"));
    const again = await create(repo, "p-1", 5, at(1), key("k-new"));
    assert.ok(again.ok && again.replayed);
    assert.deepEqual(recordOf(again), recordOf(first));
    await assertLedger(repo, "p-1", 1);
  });

  test("If-Match: a change applies at the expected version only; 20 racing, one wins", async (repo) => {
    await create(repo, "p-1", 100);
    const stale = await adjust(repo, "p-1", -1, at(1), { expectedSequence: 7 });
    assert.deepEqual(stale, { ok: false, reason: "precondition_failed", current: rec("p-1", 100) });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => adjust(repo, "p-1", -1, at(2), { expectedSequence: 1 })),
    );
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.ok(results.every((r) => r.ok || r.reason === "precondition_failed"));
    const counted = await set(repo, "p-1", 50, at(3), { expectedSequence: 2 });
    assert.deepEqual(recordOf(counted), rec("p-1", 50, at(3), 3));
    assert.deepEqual(await repo.delete("p-1", 2), {
      ok: false,
      reason: "precondition_failed",
      current: rec("p-1", 50, at(3), 3),
    });
    assert.deepEqual(await repo.delete("p-1", 3), { ok: true });
  });

  register("the ledger holds under 200 racing purchases on two instances", async (h) => {
    const other = await h.second();
    try {
      await create(h.repo, "p-1", 120);
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => adjust(i % 2 ? other : h.repo, "p-1", -1, at(1))),
      );
      assert.equal(results.filter((r) => r.ok).length, 120);
      await assertLedger(h.repo, "p-1", 121);
      await assertLedger(other, "p-1", 121);
    } finally {
      await other.close();
    }
  });

  register(
    "keyed changes stay exactly-once when another instance makes the record again",
    async (h) => {
      const other = await h.second();
      const keyed = (k: string) => intent({ kind: "adjust", delta: -1 }, at(1), key(k));
      try {
        await create(h.repo, "p-1", 10);
        assert.ok((await h.repo.apply("p-1", keyed("a"))).ok);
        // Another instance deletes the record and makes it again: a new ledger.
        assert.deepEqual(await other.delete("p-1"), { ok: true });
        await create(other, "p-1", 5, at(2));
        // The first instance's keyed changes apply to the new record: once each, twins included,
        // and a key of the old record first, before this instance has seen the new one.
        const first = await h.repo.apply("p-1", keyed("a"));
        assert.ok(first.ok && !first.replayed, "a key of the old record is new here");
        const again = await h.repo.apply("p-1", keyed("a"));
        assert.ok(again.ok && again.replayed, "and once only");
        const twins = await Promise.all([
          h.repo.apply("p-1", keyed("b")),
          h.repo.apply("p-1", keyed("b")),
        ]);
        assert.deepEqual(twins.map((r) => r.ok && r.replayed).sort(), [false, true]);
        assert.equal((await other.get("p-1"))?.quantity, 3);
        await assertLedger(other, "p-1", 3);
      } finally {
        await other.close();
      }
    },
  );

  register("a crash between the stock write and the ledger write loses no movement", async (h) => {
    const crashing = await h.crashing();
    await create(crashing, "p-1", 10);
    await adjust(crashing, "p-1", -2, at(1), key("k-1"));
    await adjust(crashing, "p-1", -3, at(2));
    await crashing.close();
    // Readers see the whole ledger at once; the next change carries it on.
    await assertLedger(h.repo, "p-1", 3);
    const retry = await adjust(h.repo, "p-1", -2, at(3), key("k-1"));
    assert.ok(retry.ok && retry.replayed, "the retry after the crash is not applied twice");
    await adjust(h.repo, "p-1", -1, at(4));
    const movements = await assertLedger(h.repo, "p-1", 4);
    assert.deepEqual(movements.map((m) => m.delta), [10, -2, -3, -1]);
    assert.deepEqual((await ledger(h.repo, "p-1")).map((m) => m.quantity), [10, 8, 5, 4]);
  });
}
