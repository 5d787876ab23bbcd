import assert from "node:assert/strict";
import type { IdempotentResponse } from "../../inventory/domain/idempotency.ts";
import type { IdempotencyStore } from "../../inventory/domain/ports.ts";
import { type ContractOptions, registerContractCase } from "./stock_helpers.ts";

export interface IdempotencyStoreHarness {
  store: IdempotencyStore;
  /** Empties the store, so each case starts from nothing. */
  reset(): Promise<void>;
  /** Releases everything `open` acquired, so Deno's sanitizers pass. */
  close(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

const RESPONSE: IdempotentResponse = {
  status: 201,
  body: '{"data":{"type":"inventory","id":"p-1"}}',
  headers: {
    "content-type": "application/vnd.api+json",
    "location": "/inventory/p-1",
    "x.odd-name": "kept",
  },
};

function _sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The behaviour every IdempotencyStore adapter must share, one Deno test per case. */
export function idempotencyStoreContract(
  name: string,
  open: () => Promise<IdempotencyStoreHarness>,
  options: ContractOptions = {},
): void {
  const register = registerContractCase(name, open, options);
  function test(title: string, fn: (store: IdempotencyStore) => Promise<void>) {
    register(title, (harness) => fn(harness.store));
  }

  const answer = (key: string, fingerprint = "fp-1", response = RESPONSE) => ({
    key,
    fingerprint,
    response,
  });

  test("lookup() finds nothing for a key never recorded", async (store) => {
    assert.equal(await store.lookup("k-1"), null);
  });

  test("record() then lookup() gives the answer back, in one read", async (store) => {
    const before = Date.now();
    await store.record([answer("k-1")], DAY_MS);
    const stored = await store.lookup("k-1");
    assert.deepEqual(stored && { fingerprint: stored.fingerprint, response: stored.response }, {
      fingerprint: "fp-1",
      response: RESPONSE,
    });
    assert.ok(stored!.expiresAt >= before + DAY_MS && stored!.expiresAt <= Date.now() + DAY_MS);
    assert.equal(await store.lookup("k-2"), null);
  });

  test("record() keeps the first answer of a key", async (store) => {
    await store.record([answer("k-1")], DAY_MS);
    await store.record([answer("k-1", "fp-2", { ...RESPONSE, status: 409 })], DAY_MS);
    const stored = await store.lookup("k-1");
    assert.equal(stored?.fingerprint, "fp-1");
    assert.equal(stored?.response.status, 201);
  });

  test("record() keeps exactly one of 20 answers recorded at once for one key", async (store) => {
    await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          store.record([answer("k-1", `fp-${i}`, { ...RESPONSE, body: `answer ${i}` })], DAY_MS),
      ),
    );
    const stored = await store.lookup("k-1");
    const i = Number(stored?.fingerprint.slice(3));
    assert.ok(i >= 0 && i < 20);
    assert.equal(stored?.response.body, `answer ${i}`, "the answer kept is that request's own");
  });

  test("record() writes many answers at once, keys independent of each other", async (store) => {
    await store.record([answer("k-1")], DAY_MS);
    await store.record(
      [answer("k-1", "fp-9"), answer("k-2", "fp-2"), answer("k-3", "fp-3")],
      DAY_MS,
    );
    assert.deepEqual(
      await Promise.all(
        ["k-1", "k-2", "k-3"].map(async (k) => (await store.lookup(k))?.fingerprint),
      ),
      ["fp-1", "fp-2", "fp-3"],
    );
  });

  test("record() gives an expired answer's key to a new one", async (store) => {
    await store.record([answer("k-1")], 50);
    await _sleep(120);
    await store.record([answer("k-1", "fp-2")], DAY_MS);
    assert.equal((await store.lookup("k-1"))?.fingerprint, "fp-2");
  });

  test("record() of one batch: an expired key renewed, a live one kept, a new one added", async (store) => {
    await store.record([answer("k-old")], 50);
    await store.record([answer("k-live")], DAY_MS);
    await _sleep(120);
    await store.record(
      [answer("k-live", "fp-2"), answer("k-old", "fp-2"), answer("k-new", "fp-2")],
      DAY_MS,
    );
    assert.deepEqual(
      await Promise.all(
        ["k-live", "k-old", "k-new"].map(async (k) => (await store.lookup(k))?.fingerprint),
      ),
      ["fp-1", "fp-2", "fp-2"],
    );
  });
}
