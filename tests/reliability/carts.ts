import assert from "node:assert/strict";
import fc from "fast-check";
import { FaultProxy } from "./fault_proxy.ts";
import {
  call,
  type CallResult,
  countBy,
  createProduct,
  createStock,
  createStores,
  errorDocumentProblem,
  figures,
  ignore,
  inventoryEnv,
  listAll,
  mapLimit,
  percentile,
  productsEnv,
  type RunningService,
  show,
  sleep,
  startInventoryPair,
  startService,
  stopAll,
  viaPort,
} from "./support.ts";

/**
 * Case 8: carts over two inventory instances on one MongoDB-wire store (no multi-document
 * transactions): racing carts, SIGKILL with carts in flight, expiry with no traffic, hostile
 * cart bodies. The invariant checked after each: for every product, `reserved` equals the sum of
 * its lines over the reservations that read as held, and `quantity + reserved` is what was stocked.
 */

const SEED = Number(Deno.env.get("RELIABILITY_SEED") ?? Date.now() % 2 ** 31);

const cart = (lines: [string, number][], extra: Record<string, unknown> = {}) => ({
  data: {
    type: "reservations",
    attributes: {
      lines: lines.map(([product_id, quantity]) => ({ product_id, quantity })),
      ...extra,
    },
  },
});

interface Level {
  quantity: number;
  reserved: number;
}

async function levelOf(base: string, id: string): Promise<Level> {
  const r = await call(base, `/inventory/${id}`);
  assert.equal(r.status, 200, show(r));
  return { quantity: r.doc.data.attributes.quantity, reserved: r.doc.data.attributes.reserved };
}

/** Units of each product held by reservations that read as held, from the API's own list. */
async function heldUnits(base: string, products: string[]): Promise<Map<string, number>> {
  const held = new Map(products.map((id) => [id, 0]));
  for (const r of await listAll(base, "/reservations?filter[status]=held")) {
    for (const line of r.attributes.lines) {
      if (held.has(line.product_id)) {
        held.set(line.product_id, held.get(line.product_id)! + line.quantity);
      }
    }
  }
  return held;
}

/**
 * Whether a product's ledger (`GET /inventory/{id}/movements`, every page) is whole: movements
 * 1, 2, 3, … with no gap, summing to the record's quantity and reserved units. Null when it is.
 */
async function ledgerProblem(base: string, id: string): Promise<string | null> {
  // deno-lint-ignore no-explicit-any
  const movements: any[] = [];
  for (let path: string | null = `/inventory/${id}/movements?page[size]=100`; path;) {
    const r = await call(base, path);
    assert.equal(r.status, 200, show(r));
    movements.push(...r.doc.data);
    const next: string | undefined = r.doc.links?.next;
    path = next ? new URL(next).pathname + new URL(next).search : null;
  }
  const level = await levelOf(base, id);
  const sequences = movements.map((m) => m.attributes.sequence);
  const gap = sequences.findIndex((q, i) => q !== i + 1);
  const sum = (field: string) => movements.reduce((n, m) => n + m.attributes[field], 0);
  if (gap >= 0) return `${id}: movement ${gap + 1} missing (${sequences.length} listed)`;
  if (sum("delta") !== level.quantity || sum("reserved_delta") !== level.reserved) {
    return `${id}: movements sum to ${sum("delta")}/${sum("reserved_delta")}, ` +
      `the record holds ${level.quantity}/${level.reserved}`;
  }
  return null;
}

/** The invariant, checked through the API; returns per-product figures. */
async function assertHeldMatches(base: string, products: string[], stocked: number) {
  const held = await heldUnits(base, products);
  const levels = await Promise.all(products.map((id) => levelOf(base, id)));
  products.forEach((id, i) => {
    const level = levels[i]!;
    assert.equal(level.reserved, held.get(id), `${id}: reserved is what held carts hold`);
    assert.equal(level.quantity + level.reserved, stocked, `${id}: no unit lost or made`);
  });
  return levels;
}

Deno.test({
  name: "reliability: carts over two inventory instances (race, SIGKILL, expiry, hostile bodies)",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stores = await createStores("carts");
    let products: RunningService | undefined;
    let a: RunningService | undefined;
    let b: RunningService | undefined;
    try {
      products = await startService("products", productsEnv(stores));
      [a, b] = await startInventoryPair(stores, products.url);
      const instances = [a.url, b.url];
      const stockUp = async (count: number, quantity: number) => {
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          const id = await createProduct(products!.url, `Cart item ${i}`);
          await createStock(instances[1]!, id, quantity);
          ids.push(id);
        }
        return ids;
      };

      await t.step(
        "300 racing carts of 2 lines over 6 products of 20: only 201 or 409",
        async () => {
          const ids = await stockUp(6, 20);
          const started = performance.now();
          const results = await mapLimit(
            Array.from({ length: 300 }, (_, i) => i),
            48,
            (i) =>
              call(instances[i % 2]!, "/reservations", {
                method: "POST",
                body: cart([[ids[i % 6]!, 1 + (i % 2)], [ids[(i + 1 + (i % 5)) % 6]!, 1]]),
              }),
          );
          const seconds = (performance.now() - started) / 1000;
          const statuses = countBy(results, (r) => r.status);
          const levels = await assertHeldMatches(instances[1]!, ids, 20);
          const won = results.filter((r) => r.status === 201);
          // Every 201's lines are held: the API's list agrees with the answers.
          const answered = new Map(ids.map((id) => [id, 0]));
          for (const r of won) {
            for (const line of r.doc.data.attributes.lines) {
              answered.set(line.product_id, answered.get(line.product_id)! + line.quantity);
            }
          }
          figures("8 carts race", {
            carts: results.length,
            statuses,
            seconds: seconds.toFixed(2),
            p50_ms: Math.round(percentile(results.map((r) => r.ms), 50)),
            max_ms: Math.round(Math.max(...results.map((r) => r.ms))),
            reserved: levels.map((l) => l.reserved),
            quantity: levels.map((l) => l.quantity),
          });
          const unexpected = results.filter((r) => r.status !== 201 && r.status !== 409);
          assert.deepEqual(unexpected.map(show).slice(0, 5), [], "only 201 and 409");
          for (const r of results.filter((r) => r.status === 409)) {
            assert.ok(r.doc.errors.every((e: { code: string }) => e.code === "insufficient_stock"));
          }
          ids.forEach((id, i) => assert.equal(levels[i]!.reserved, answered.get(id), id));
          assert.ok(won.length > 0);
        },
      );

      await t.step("SIGKILL with 200 three-line carts in flight: settled within 30 s", async () => {
        const ids = await stockUp(6, 50);
        const sends = mapLimit(
          Array.from({ length: 200 }, (_, i) => i),
          64,
          (i) =>
            call(instances[0]!, "/reservations", {
              method: "POST",
              body: cart([[ids[i % 6]!, 1], [ids[(i + 2) % 6]!, 1], [ids[(i + 4) % 6]!, 1]]),
              timeoutMs: 20_000,
            }),
        );
        // Kill once some carts were answered, so others are surely in flight.
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
          const list = await call(
            instances[1]!,
            `/reservations?page[size]=1&filter[product_id]=${ids[0]}`,
          );
          if ((list.doc?.meta?.total ?? 0) >= 5) break;
          await sleep(20);
        }
        const killedAt = performance.now();
        await a!.kill();
        const results: CallResult[] = await sends;
        const statuses = countBy(results, (r) => r.status);

        // B's sweeper settles what A left pending once A's leases ran out (10 s).
        let settledMs = -1;
        let levels: Level[] = [];
        for (let waited = 0; waited < 30_000; waited += 500) {
          try {
            levels = await assertHeldMatches(instances[1]!, ids, 50);
            settledMs = Math.round(performance.now() - killedAt);
            break;
          } catch {
            await sleep(500);
          }
        }
        figures("8 carts sigkill", {
          carts: results.length,
          statuses_on_a: statuses,
          settled_after_kill_ms: settledMs,
          reserved: levels.map((l) => l.reserved),
        });
        assert.ok(settledMs >= 0, "settled within 30 s of the kill");
        await assertHeldMatches(instances[1]!, ids, 50);
        // Every cart A answered 201 to is held, in full.
        for (const r of results.filter((r) => r.status === 201)) {
          const read = await call(instances[1]!, `/reservations/${r.doc.data.id}`);
          assert.equal(read.doc.data.attributes.status, "held", show(read));
        }
      });

      await t.step("a 2 s hold expires with no request touching it", async () => {
        const [id] = await stockUp(1, 5);
        const made = await call(instances[1]!, "/reservations", {
          method: "POST",
          body: cart([[id!, 3]], { ttl_seconds: 2 }),
        });
        assert.equal(made.status, 201, show(made));
        const expiresAt = new Date(made.doc.data.attributes.expires_at).getTime();
        assert.deepEqual(await levelOf(instances[1]!, id!), { quantity: 2, reserved: 3 });
        // Only the stock record is read, never the reservation, until the units are back.
        let back = -1;
        while (Date.now() < expiresAt + 8_000) {
          const level = await levelOf(instances[1]!, id!);
          if (level.quantity === 5 && level.reserved === 0) {
            back = Date.now() - expiresAt;
            break;
          }
          await sleep(100);
        }
        const read = await call(instances[1]!, `/reservations/${made.doc.data.id}`);
        figures("8 carts expiry", { units_back_after_expiry_ms: back });
        assert.ok(back >= 0 && back <= 5_000, `units back ${back} ms after expiry`);
        assert.equal(read.doc.data.attributes.status, "expired");
        const ledger = await call(instances[1]!, `/inventory/${id}/movements`);
        assert.deepEqual(
          ledger.doc.data.map((m: { attributes: { reason: string } }) => m.attributes.reason),
          ["initial", "reservation_hold", "reservation_expire"],
        );
      });

      await t.step(
        "the store refused, black-holed and cut during carts: honest answers",
        async () => {
          const ids = await stockUp(4, 40);
          const proxy = new FaultProxy({
            upstreamHost: stores.mongoHost,
            upstreamPort: stores.mongoPort,
          });
          const c = await startService(
            "inventory",
            inventoryEnv(stores, products!.url, {
              MONGODB_URL: viaPort(stores.mongoUrl, proxy.port),
            }),
          );
          try {
            const sent: { reference: string; r: CallResult }[] = [];
            let running = true;
            const workers = Array.from({ length: 6 }, async (_, w) => {
              for (let i = 0; running; i++) {
                const reference = `fault-${w}-${i}`;
                const r = await call(c.url, "/reservations", {
                  method: "POST",
                  body: cart([[ids[(w + i) % 4]!, 1], [ids[(w + i + 1) % 4]!, 1]], { reference }),
                  headers: { "Idempotency-Key": reference },
                  timeoutMs: 15_000,
                });
                sent.push({ reference, r });
                if (r.status !== 201 && r.status !== 409) await sleep(50);
              }
            });
            for (
              const mode of ["pass", "refuse", "pass", "blackhole", "pass", "cut", "pass"] as const
            ) {
              proxy.setMode(mode);
              await sleep(mode === "blackhole" ? 2_500 : 1_000);
            }
            running = false;
            await Promise.all(workers);
            const statuses = countBy(sent, ({ r }) => r.status);
            // Whatever a failure left pending is settled by the sweepers once its lease ran out.
            let settledMs = -1;
            let unsettled = "";
            const started = performance.now();
            while (performance.now() - started < 30_000) {
              try {
                await assertHeldMatches(instances[1]!, ids, 40);
                settledMs = Math.round(performance.now() - started);
                break;
              } catch (err) {
                unsettled = err instanceof Error ? err.message : String(err);
                await sleep(500);
              }
            }
            const held = new Set<string>();
            for (const r of await listAll(instances[1]!, "/reservations?filter[status]=held")) {
              if (r.attributes.reference?.startsWith("fault-")) held.add(r.attributes.reference);
            }
            const wrong = sent.filter(({ reference, r }) =>
              r.status === 201
                ? !held.has(reference)
                : r.status !== 504 && r.status !== 0 && held.has(reference)
            );
            const errors = sent.filter(({ r }) =>
              r.status >= 400 && errorDocumentProblem(r) !== null
            );
            const ledgers = await Promise.all(ids.map((id) => ledgerProblem(instances[1]!, id)));
            figures("8 carts store faults", {
              carts: sent.length,
              statuses,
              settled_after_load_ms: settledMs,
              ledgers_whole: ledgers.every((p) => p === null),
              held: held.size,
              proxy: proxy.stats,
            });
            assert.ok(settledMs >= 0, `settled within 30 s: ${unsettled}`);
            assert.deepEqual(ledgers.filter((p) => p !== null), [], "every ledger whole");
            assert.deepEqual(
              wrong.map(({ r }) => show(r)).slice(0, 5),
              [],
              "201 held; refusals not",
            );
            assert.deepEqual(errors.map(({ r }) => show(r)).slice(0, 5), [], "JSON:API errors");
            assert.ok(
              sent.every(({ r }) => [201, 409, 503, 504].includes(r.status)),
              JSON.stringify(statuses),
            );
          } finally {
            await c.stop();
            await proxy.close();
          }
        },
      );

      await t.step("hostile cart bodies: 4xx JSON:API errors, nothing held", async () => {
        const ids = await stockUp(2, 10);
        const good = fc.record({
          product_id: fc.constantFrom(...ids),
          quantity: fc.integer({ min: 1, max: 3 }),
        });
        const poisonLine = fc.oneof(
          fc.record({ product_id: fc.string(), quantity: fc.integer({ min: 1, max: 3 }) }),
          fc.record({
            product_id: fc.constantFrom(...ids),
            quantity: fc.oneof(fc.integer({ max: 0 }), fc.double(), fc.string(), fc.constant(null)),
          }),
          fc.record({
            product_id: fc.constantFrom(...ids),
            quantity: fc.constant(1),
            location_id: fc.string(),
          }),
          fc.record({ product_id: fc.uuid(), quantity: fc.constant(1) }),
          fc.record({ product_id: fc.constantFrom(...ids), quantity: fc.constant(1_000) }),
          fc.anything(),
        );
        const poisoned = fc.oneof(
          fc.tuple(fc.array(good, { maxLength: 3 }), poisonLine, fc.array(good, { maxLength: 3 }))
            .map(([x, p, y]) => ({ lines: [...x, p, ...y] })),
          fc.record({
            lines: fc.array(good, { minLength: 1, maxLength: 2 }),
            ttl_seconds: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 86_401 }), fc.string()),
          }),
          fc.record({
            lines: fc.array(good, { minLength: 1, maxLength: 2 }),
            reference: fc.oneof(fc.string({ minLength: 256, maxLength: 300 }), fc.integer()),
          }),
          fc.record({
            lines: fc.oneof(
              fc.constant([]),
              fc.string(),
              fc.constant(null),
              fc.array(good, { minLength: 101, maxLength: 101 }),
            ),
          }),
        );
        const answers: CallResult[] = [];
        await fc.assert(
          fc.asyncProperty(poisoned, async (attributes) => {
            const r = await call(instances[1]!, "/reservations", {
              method: "POST",
              body: { data: { type: "reservations", attributes } },
            });
            answers.push(r);
            return r.status >= 400 && r.status < 500 && errorDocumentProblem(r) === null;
          }),
          { seed: SEED, numRuns: 150 },
        );
        // And on a held cart's PATCH: every poisoned change is a 4xx and the cart stays as it was.
        const held = await call(instances[1]!, "/reservations", {
          method: "POST",
          body: cart([[ids[0]!, 2]]),
        });
        assert.equal(held.status, 201, show(held));
        const rid = held.doc.data.id;
        const before = await call(instances[1]!, `/reservations/${rid}`);
        const patches = fc.oneof(
          fc.record({
            status: fc.oneof(fc.string(), fc.constantFrom("expired", "pending", "HELD")),
          }),
          fc.record({
            ttl_seconds: fc.oneof(
              fc.integer({ max: 0 }),
              fc.integer({ min: 86_401 }),
              fc.double().filter((d) => !Number.isInteger(d)),
              fc.string(),
            ),
          }),
          fc.record({
            status: fc.constantFrom("committed", "released"),
            ttl_seconds: fc.integer({ min: 1, max: 60 }),
          }),
          fc.record({ lines: fc.anything() }),
          fc.constant({}),
          fc.anything(),
        );
        await fc.assert(
          fc.asyncProperty(patches, fc.boolean(), async (attributes, wrongId) => {
            const r = await call(instances[1]!, `/reservations/${rid}`, {
              method: "PATCH",
              body: {
                data: { type: "reservations", id: wrongId ? crypto.randomUUID() : rid, attributes },
              },
            });
            answers.push(r);
            return r.status >= 400 && r.status < 500 && errorDocumentProblem(r) === null;
          }),
          { seed: SEED, numRuns: 100 },
        );
        const after = await call(instances[1]!, `/reservations/${rid}`);
        figures("8 carts hostile", {
          seed: SEED,
          requests: answers.length,
          statuses: countBy(answers, (r) => r.status),
        });
        assert.deepEqual(after.doc, before.doc, "the held cart is unchanged");
        assert.equal(after.headers.get("etag"), before.headers.get("etag"));
        assert.deepEqual(await levelOf(instances[1]!, ids[0]!), { quantity: 8, reserved: 2 });
        assert.deepEqual(await levelOf(instances[1]!, ids[1]!), { quantity: 10, reserved: 0 });
      });
    } finally {
      await stopAll([a, b, products]);
      await stores.drop();
    }
  },
});
