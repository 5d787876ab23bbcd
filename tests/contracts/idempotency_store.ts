import assert from "node:assert/strict";
import type { IdempotencyStore, IdempotentResponse } from "../../inventory/domain/ports.ts";
import { type ContractOptions, registerContractCase } from "./stock_repository.ts";

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

  test("lookup() reads what is stored for a key in one call, claim and answer alike", async (store) => {
    assert.equal(await store.lookup("k-1"), null);
    await store.claim("k-1", "fp-1", DAY_MS);
    const claimed = await store.lookup("k-1");
    assert.deepEqual(
      claimed &&
        { fingerprint: claimed.fingerprint, state: claimed.state, response: claimed.response },
      { fingerprint: "fp-1", state: "in_progress", response: undefined },
    );
    assert.ok(claimed!.expiresAt > Date.now() + DAY_MS - 60_000, "the claim's lease");
    await store.complete("k-1", RESPONSE, DAY_MS);
    const completed = await store.lookup("k-1");
    assert.deepEqual(
      completed &&
        {
          fingerprint: completed.fingerprint,
          state: completed.state,
          response: completed.response,
        },
      { fingerprint: "fp-1", state: "completed", response: RESPONSE },
    );
    assert.equal(await store.lookup("k-2"), null);
  });

  test("claim() grants a key to exactly one of 50 concurrent callers", async (store) => {
    const claims = await Promise.all(
      Array.from({ length: 50 }, () => store.claim("k-1", "fp-1", DAY_MS)),
    );
    assert.equal(claims.filter((claim) => claim.state === "claimed").length, 1);
    assert.equal(claims.filter((claim) => claim.state === "in_progress").length, 49);
  });

  test("claim() replays the stored response once the key is completed", async (store) => {
    assert.deepEqual(await store.claim("k-1", "fp-1", DAY_MS), { state: "claimed" });
    assert.deepEqual(await store.claim("k-1", "fp-1", DAY_MS), { state: "in_progress" });
    await store.complete("k-1", RESPONSE, DAY_MS);
    assert.deepEqual(await store.claim("k-1", "fp-1", DAY_MS), {
      state: "completed",
      fingerprint: "fp-1",
      response: RESPONSE,
    });
  });

  test("claim() reports a mismatch for another fingerprint", async (store) => {
    await store.claim("k-1", "fp-1", DAY_MS);
    assert.deepEqual(await store.claim("k-1", "fp-2", DAY_MS), { state: "mismatch" });
    await store.complete("k-1", RESPONSE, DAY_MS);
    assert.deepEqual(await store.claim("k-1", "fp-2", DAY_MS), { state: "mismatch" });
  });

  test("keys are independent of each other", async (store) => {
    await store.claim("k-1", "fp-1", DAY_MS);
    assert.deepEqual(await store.claim("k-2", "fp-1", DAY_MS), { state: "claimed" });
  });

  test("release() lets the key be claimed again", async (store) => {
    await store.claim("k-1", "fp-1", DAY_MS);
    await store.release("k-1");
    assert.deepEqual(await store.claim("k-1", "fp-2", DAY_MS), { state: "claimed" });
    await store.release("missing");
  });

  test("release() keeps a completed key's stored response", async (store) => {
    await store.claim("k-1", "fp-1", DAY_MS);
    await store.complete("k-1", RESPONSE, DAY_MS);
    await store.release("k-1");
    const claim = await store.claim("k-1", "fp-1", DAY_MS);
    assert.equal(claim.state, "completed");
  });

  test("complete() without a live claim stores nothing", async (store) => {
    await store.complete("k-1", RESPONSE, DAY_MS);
    assert.deepEqual(await store.claim("k-1", "fp-1", DAY_MS), { state: "claimed" });
  });

  test("claim() treats a key past its TTL as free", async (store) => {
    await store.claim("k-1", "fp-1", 50);
    await store.claim("k-2", "fp-1", DAY_MS);
    await store.complete("k-2", RESPONSE, 50);
    await _sleep(120);
    assert.deepEqual(await store.claim("k-1", "fp-2", DAY_MS), { state: "claimed" });
    assert.deepEqual(await store.claim("k-2", "fp-1", DAY_MS), { state: "claimed" });
    assert.deepEqual(await store.claim("k-2", "fp-1", DAY_MS), { state: "in_progress" });
  });

  test("claim() grants an expired key to exactly one of 20 concurrent callers", async (store) => {
    await store.claim("k-1", "fp-1", 50);
    await _sleep(120);
    const claims = await Promise.all(
      Array.from({ length: 20 }, () => store.claim("k-1", "fp-1", DAY_MS)),
    );
    assert.equal(claims.filter((claim) => claim.state === "claimed").length, 1);
  });
}
