/**
 * Carts on every adapter: the ReservationService over a StockRepository and a ReservationStore of
 * the same store, with a fake clock (expiry and leases move by `advance`, never by sleeping).
 */
import assert from "node:assert/strict";
import type { EventLog } from "@stockroom/kernel";
import type { RequestContext } from "../../inventory/application/inventory_service.ts";
import { ReservationService } from "../../inventory/application/reservation_service.ts";
import { CartRefusedError } from "../../inventory/domain/errors.ts";
import type { ReservationStore, StockRepository } from "../../inventory/domain/ports.ts";
import {
  holdStep,
  LEASE_MS,
  lineFingerprint,
  type Reservation,
} from "../../inventory/domain/reservation.ts";
import { FakeClock } from "../support/fake_clock.ts";
import {
  assertLedger,
  type ContractOptions,
  create,
  registerContractCase,
} from "./stock_helpers.ts";

export interface ReservationHarness {
  stock: StockRepository;
  reservations: ReservationStore;
  /** Another instance on the same database. */
  second(): Promise<{ stock: StockRepository; reservations: ReservationStore }>;
}

const quiet: EventLog = { info() {}, warn() {}, error() {} };
const ctx = (extra: Partial<RequestContext> = {}): RequestContext => ({
  requestId: "req-1",
  log: quiet,
  ...extra,
});
const line = (productId: string, quantity: number) => ({ productId, quantity });

interface Case {
  clock: FakeClock;
  carts: ReservationService;
  stock: StockRepository;
  reservations: ReservationStore;
  harness: ReservationHarness;
}

async function stockOf(stock: StockRepository, id: string) {
  const r = await stock.get(id);
  return r && { quantity: r.quantity, reserved: r.reserved };
}

export function reservationContract(
  name: string,
  open: () => Promise<ReservationHarness & { reset(): Promise<void>; close(): Promise<void> }>,
  options: ContractOptions = {},
): void {
  const register = registerContractCase(name, open, options);
  const test = (title: string, fn: (c: Case) => Promise<void>) =>
    register(title, async (harness) => {
      const clock = new FakeClock();
      const carts = new ReservationService({
        stock: harness.stock,
        reservations: harness.reservations,
        clock,
      });
      await fn({ clock, carts, stock: harness.stock, reservations: harness.reservations, harness });
    });

  test("a cart holds its merged lines, then commit sells them", async ({ carts, stock }) => {
    await create(stock, "p-1", 10);
    await create(stock, "p-2", 5);
    const { reservation } = await carts.create({
      lines: [line("p-2", 1), line("p-1", 2), line("p-1", 1)],
      ttlSeconds: 900,
      reference: "cart-1",
    }, ctx());
    assert.equal(reservation.status, "held");
    assert.deepEqual(reservation.lines, [line("p-1", 3), line("p-2", 1)]);
    assert.deepEqual(await stockOf(stock, "p-1"), { quantity: 7, reserved: 3 });
    assert.deepEqual(await stockOf(stock, "p-2"), { quantity: 4, reserved: 1 });

    const committed = await carts.close(reservation.id, "committed", ctx());
    assert.equal(committed.status, "committed");
    assert.deepEqual(await stockOf(stock, "p-1"), { quantity: 7, reserved: 0 });
    assert.deepEqual(await stockOf(stock, "p-2"), { quantity: 4, reserved: 0 });
    const movements = await assertLedger(stock, "p-1", 3);
    assert.deepEqual(
      movements.map((m) => [m.reason, m.delta, m.reservedDelta, m.reservationId, m.reference]),
      [
        ["initial", 10, 0, null, null],
        ["reservation_hold", -3, 3, reservation.id, "cart-1"],
        ["reservation_commit", 0, -3, reservation.id, "cart-1"],
      ],
    );
    await assertLedger(stock, "p-2", 3);
    // Committing again is a no-op; releasing a committed cart is refused.
    assert.equal(
      (await carts.close(reservation.id, "committed", ctx())).version,
      committed.version,
    );
    await assert.rejects(carts.close(reservation.id, "released", ctx()), {
      code: "reservation_closed",
    });
  });

  test("release gives the units back", async ({ carts, stock }) => {
    await create(stock, "p-1", 4);
    const { reservation } = await carts.create(
      { lines: [line("p-1", 4)], ttlSeconds: 60, reference: null },
      ctx(),
    );
    assert.deepEqual(await stockOf(stock, "p-1"), { quantity: 0, reserved: 4 });
    assert.equal((await carts.close(reservation.id, "released", ctx())).status, "released");
    assert.deepEqual(await stockOf(stock, "p-1"), { quantity: 4, reserved: 0 });
    const movements = await assertLedger(stock, "p-1", 3);
    assert.equal(movements.at(-1)?.reason, "reservation_release");
    await assert.rejects(carts.close(reservation.id, "committed", ctx()), {
      code: "reservation_closed",
    });
  });

  test("a held cart blocks purchases of its units", async ({ carts, stock }) => {
    await create(stock, "p-1", 3);
    await carts.create({ lines: [line("p-1", 2)], ttlSeconds: 60, reference: null }, ctx());
    const bought = await stock.apply("p-1", {
      change: { kind: "adjust", delta: -2 },
      reason: "purchase",
      reference: null,
      requestId: "buyer",
      reservationId: null,
      at: new Date(),
    });
    assert.deepEqual(bought, { ok: false, reason: "insufficient_stock", available: 1 });
  });

  test("all or nothing: several short lines are all reported, nothing stays held", async (c) => {
    const { carts, stock } = c;
    await create(stock, "p-1", 1);
    await create(stock, "p-2", 5);
    await create(stock, "p-3", 0);
    const refused = await carts.create({
      lines: [line("p-3", 1), line("p-2", 2), line("p-1", 2)],
      ttlSeconds: 60,
      reference: null,
    }, ctx()).then(() => null, (err) => err);
    assert.ok(refused instanceof CartRefusedError);
    assert.equal(refused.code, "insufficient_stock");
    assert.deepEqual(
      refused.problems.map((p) => [p.index, p.productId, p.kind, "available" in p && p.available]),
      [[2, "p-1", "short", 1], [0, "p-3", "short", 0]],
    );
    for (const [id, quantity] of [["p-1", 1], ["p-2", 5], ["p-3", 0]] as const) {
      assert.deepEqual(await stockOf(stock, id), { quantity, reserved: 0 });
      await assertLedger(stock, id);
    }
    assert.equal((await carts.list({ offset: 0, limit: 10 })).total, 0);
  });

  test("a line naming a product without stock is refused and holds nothing", async (c) => {
    await create(c.stock, "p-1", 5);
    const refused = await c.carts.create({
      lines: [line("p-1", 1), line("p-0", 1)],
      ttlSeconds: 60,
      reference: null,
    }, ctx()).then(() => null, (err) => err);
    assert.ok(refused instanceof CartRefusedError);
    assert.equal(refused.code, "stock_not_found");
    assert.deepEqual(refused.problems.map((p) => [p.index, p.kind]), [[1, "no_stock_record"]]);
    assert.deepEqual(await stockOf(c.stock, "p-1"), { quantity: 5, reserved: 0 });
  });

  test("extend moves the expiry; past it the cart reads expired and the sweep returns its units", async (c) => {
    const { carts, stock, clock } = c;
    await create(stock, "p-1", 5);
    const { reservation } = await carts.create(
      { lines: [line("p-1", 2)], ttlSeconds: 60, reference: null },
      ctx(),
    );
    clock.advance(30_000);
    const extended = await carts.extend(reservation.id, 60);
    assert.equal(extended.expiresAt.getTime(), clock.now().getTime() + 60_000);
    clock.advance(59_000);
    assert.equal(await carts.sweep(quiet), 0);
    assert.deepEqual(await stockOf(stock, "p-1"), { quantity: 3, reserved: 2 });
    clock.advance(1_000);
    assert.equal((await carts.list({ offset: 0, limit: 10, status: "expired" })).total, 1);
    await assert.rejects(carts.close(reservation.id, "committed", ctx()), {
      code: "reservation_expired",
    });
    await assert.rejects(carts.extend(reservation.id, 60), { code: "reservation_closed" });
    assert.equal(await carts.sweep(quiet), 1);
    assert.equal((await carts.get(reservation.id)).status, "expired");
    assert.deepEqual(await stockOf(stock, "p-1"), { quantity: 5, reserved: 0 });
    const movements = await assertLedger(stock, "p-1", 3);
    assert.equal(movements.at(-1)?.reason, "reservation_expire");
    assert.equal(await carts.sweep(quiet), 0);
  });

  test("lists filter by status and product, oldest first", async ({ carts, stock, clock }) => {
    await create(stock, "p-1", 10);
    await create(stock, "p-2", 10);
    const a = await carts.create(
      { lines: [line("p-1", 1)], ttlSeconds: 60, reference: null },
      ctx(),
    );
    clock.advance(1);
    const b = await carts.create(
      { lines: [line("p-1", 1), line("p-2", 1)], ttlSeconds: 600, reference: null },
      ctx(),
    );
    clock.advance(1);
    const cart = await carts.create(
      { lines: [line("p-2", 1)], ttlSeconds: 600, reference: null },
      ctx(),
    );
    await carts.close(cart.reservation.id, "released", ctx());
    clock.advance(60_000);
    const ids = async (q: Parameters<ReservationService["list"]>[0]) =>
      (await carts.list(q)).items.map((r) => r.id);
    assert.deepEqual(await ids({ offset: 0, limit: 10 }), [
      a.reservation.id,
      b.reservation.id,
      cart.reservation.id,
    ]);
    assert.deepEqual(await ids({ offset: 0, limit: 10, status: "held" }), [b.reservation.id]);
    assert.deepEqual(await ids({ offset: 0, limit: 10, status: "expired" }), [a.reservation.id]);
    assert.deepEqual(await ids({ offset: 0, limit: 10, status: "released" }), [
      cart.reservation.id,
    ]);
    assert.deepEqual(await ids({ offset: 0, limit: 10, productId: "p-2" }), [
      b.reservation.id,
      cart.reservation.id,
    ]);
    const page = await carts.list({ offset: 1, limit: 1 });
    assert.deepEqual([page.items.map((r) => r.id), page.total], [[b.reservation.id], 3]);
  });

  test("a keyed cart sent twice is held once and answered again", async ({ carts, stock }) => {
    await create(stock, "p-1", 5);
    const op = { key: "cart-key", fingerprint: "fp" };
    const cart = { lines: [line("p-1", 2)], ttlSeconds: 60, reference: null };
    const first = await carts.create(cart, ctx({ op }));
    const again = await carts.create(cart, ctx({ op }));
    assert.equal(again.replayed, true);
    assert.equal(again.reservation.id, first.reservation.id);
    assert.deepEqual(await stockOf(stock, "p-1"), { quantity: 3, reserved: 2 });
    await assert.rejects(carts.create(cart, ctx({ op: { key: "cart-key", fingerprint: "x" } })), {
      code: "idempotency_key_reused",
    });
  });

  test("a cart its owner left pending is undone once the lease ran out", async (c) => {
    const { carts, stock, reservations, clock } = c;
    await create(stock, "p-1", 5);
    await create(stock, "p-2", 5);
    // The owner wrote the record and held the first line, then died.
    const now = clock.now();
    const pending: Reservation = {
      id: "0b5e2b47-7a0e-4d3c-9a57-3f8c0b1e2d40",
      status: "pending",
      lines: [line("p-1", 2), line("p-2", 1)],
      reference: null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 60_000),
      updatedAt: now,
      version: 1,
      leaseUntil: new Date(now.getTime() + LEASE_MS),
      attempt: 1,
      requestId: "dead",
      op: null,
    };
    assert.equal(await reservations.insert(pending), true);
    const step = holdStep(pending, pending.lines[0]!);
    const held = await stock.apply("p-1", {
      change: { kind: "adjust", delta: step.delta, reservedDelta: step.reservedDelta },
      reason: step.reason,
      reference: null,
      requestId: "dead",
      reservationId: pending.id,
      at: now,
      op: { key: step.key, fingerprint: lineFingerprint(step, pending.lines[0]!) },
    });
    assert.equal(held.ok, true);
    assert.equal(await carts.sweep(quiet), 0, "the lease still runs");
    await assert.rejects(carts.get(pending.id), { code: "reservation_not_found" });
    clock.advance(LEASE_MS);
    assert.equal(await carts.sweep(quiet), 1);
    assert.deepEqual(await stockOf(stock, "p-1"), { quantity: 5, reserved: 0 });
    assert.deepEqual(await stockOf(stock, "p-2"), { quantity: 5, reserved: 0 });
    assert.equal((await reservations.get(pending.id))?.status, "failed");
    await assertLedger(stock, "p-1");
    await assertLedger(stock, "p-2");
    assert.equal(await carts.sweep(quiet), 0);
  });

  test("a commit left half done is finished by the sweep", async ({ carts, stock, reservations, clock }) => {
    await create(stock, "p-1", 5);
    await create(stock, "p-2", 5);
    const { reservation } = await carts.create(
      { lines: [line("p-1", 1), line("p-2", 2)], ttlSeconds: 60, reference: null },
      ctx(),
    );
    // The owner recorded the decision and died before changing any line.
    const moving = {
      ...reservation,
      status: "committing" as const,
      version: reservation.version + 1,
      leaseUntil: new Date(clock.now().getTime() + LEASE_MS),
    };
    assert.equal(await reservations.replace(moving, reservation.version), true);
    assert.equal((await carts.get(reservation.id)).status, "committing");
    clock.advance(LEASE_MS);
    assert.equal(await carts.sweep(quiet), 1);
    assert.equal((await carts.get(reservation.id)).status, "committed");
    assert.deepEqual(await stockOf(stock, "p-1"), { quantity: 4, reserved: 0 });
    assert.deepEqual(await stockOf(stock, "p-2"), { quantity: 3, reserved: 0 });
  });

  test("If-Match: a change at another version is refused", async ({ carts, stock }) => {
    await create(stock, "p-1", 5);
    const { reservation } = await carts.create(
      { lines: [line("p-1", 1)], ttlSeconds: 60, reference: null },
      ctx(),
    );
    await assert.rejects(carts.close(reservation.id, "committed", ctx(), reservation.version - 1), {
      code: "precondition_failed",
    });
    await assert.rejects(carts.extend(reservation.id, 10, reservation.version + 1), {
      code: "precondition_failed",
    });
    assert.equal(
      (await carts.close(reservation.id, "committed", ctx(), reservation.version))
        .status,
      "committed",
    );
  });

  test("racing carts on two instances never oversell, and reserved is what the winners hold", async (c) => {
    const { stock, harness, clock } = c;
    const other = await harness.second();
    const twin = new ReservationService({ ...other, clock });
    const products = ["p-1", "p-2", "p-3"];
    for (const id of products) await create(stock, id, 6);
    const results = await Promise.allSettled(
      Array.from({ length: 24 }, (_, i) =>
        (i % 2 ? c.carts : twin).create({
          lines: [line(products[i % 3]!, 1), line(products[(i + 1) % 3]!, 1)],
          ttlSeconds: 60,
          reference: null,
        }, ctx())),
    );
    const won = results.flatMap((r) => r.status === "fulfilled" ? [r.value.reservation] : []);
    for (const r of results) {
      if (r.status === "rejected") assert.ok(r.reason instanceof CartRefusedError, r.reason);
    }
    // 18 units fit 9 carts; a cart can lose to one that is later given back, never win too many.
    assert.ok(won.length > 0 && won.length <= 9, `won ${won.length}`);
    for (const id of products) {
      const held = won.flatMap((r) => r.lines).filter((l) => l.productId === id)
        .reduce((sum, l) => sum + l.quantity, 0);
      assert.deepEqual(await stockOf(stock, id), { quantity: 6 - held, reserved: held });
      await assertLedger(stock, id);
    }
    await other.stock.close();
  });
}
