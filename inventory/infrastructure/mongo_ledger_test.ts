import assert from "node:assert/strict";
import type { ChangeIntent } from "../domain/movement.ts";
import {
  derivePending,
  encodePending,
  pendingAt,
  pendingOf,
  pendingOfKey,
  type StockDocument,
} from "./mongo_ledger.ts";

function change(delta: number, key: string | null, reference: string | null = null): string {
  const intent = {
    change: { kind: "adjust", delta },
    reason: "purchase",
    reference,
    requestId: "req",
    at: new Date("2026-12-02T10:00:00Z"),
    ...(key === null ? {} : { op: { key, fingerprint: `print-${key}` } }),
  } as unknown as ChangeIntent;
  return encodePending(pendingOf(intent, delta, 0));
}

// Stock 10 after five movements, the last three pending: +4 (key a), -1 (no key), -2 (key b).
const doc: StockDocument = {
  product_id: "p1",
  quantity: 10,
  reserved: 0,
  last_updated: new Date("2026-12-02T10:00:00Z"),
  sequence: 5,
  ledger: "L",
  // The second entry's reference holds key b's text: only its key field may match.
  pending: [change(4, "a"), change(-1, null, '"b"'), change(-2, "b")],
  ops: ["a", "b"],
};

Deno.test("pendingAt numbers one pending movement and gives its totals, as derivePending does", () => {
  const all = derivePending(doc);
  assert.deepEqual(all.map((m) => [m.sequence, m.quantity, m.delta]), [
    [3, 13, 4],
    [4, 12, -1],
    [5, 10, -2],
  ]);
  for (let i = 0; i < all.length; i++) assert.deepEqual(pendingAt(doc, i), all[i]);
});

Deno.test("pendingOfKey finds the movement a key made, by its key field only", () => {
  assert.equal(pendingOfKey(doc, "a")?.sequence, 3);
  assert.equal(pendingOfKey(doc, "b")?.sequence, 5);
  assert.equal(pendingOfKey(doc, "b")?.fingerprint, "print-b");
  assert.equal(pendingOfKey(doc, "c"), undefined);
  assert.equal(pendingOfKey({ ...doc, pending: [] }, "a"), undefined);
});
