import assert from "node:assert/strict";
import { OverloadedError } from "@stockroom/kernel";
import type { IdempotencyStore, KeyedAnswer } from "../domain/ports.ts";
import { IdempotencyRecorder } from "./idempotency_recorder.ts";
import { createKvIdempotencyStore } from "./kv_idempotency_store.ts";

const answer = (key: string): KeyedAnswer => ({
  key,
  fingerprint: `fp-${key}`,
  response: { status: 200, body: "{}", headers: {} },
});

/** A real store that refuses its first `refusals` writes, as a full write gate does. */
function refusing(store: IdempotencyStore, refusals: number) {
  const calls = { record: 0 };
  const wrapped: IdempotencyStore = {
    lookup: (key) => store.lookup(key),
    record(answers, ttlMs) {
      calls.record++;
      if (calls.record <= refusals) return Promise.reject(new OverloadedError("database"));
      return store.record(answers, ttlMs);
    },
  };
  return { wrapped, calls };
}

function recorder(store: IdempotencyStore, warnings: string[]) {
  const log = { info() {}, error() {}, warn: (_: unknown, m: string) => void warnings.push(m) };
  return new IdempotencyRecorder(store, { ttlMs: 60_000, delayMs: 1, retryMs: 1, log });
}

Deno.test("IdempotencyRecorder keeps answers in one write per batch", async () => {
  const kv = await Deno.openKv(":memory:");
  const { wrapped, calls } = refusing(createKvIdempotencyStore(kv), 0);
  const warnings: string[] = [];
  const kept = recorder(wrapped, warnings);
  kept.add(answer("a"));
  kept.add(answer("b"));
  await kept.flush();
  assert.equal(calls.record, 1);
  assert.equal((await wrapped.lookup("b"))?.fingerprint, "fp-b");
  assert.deepEqual(warnings, []);
  kv.close();
});

Deno.test("IdempotencyRecorder tries a refused write again until it lands", async () => {
  const kv = await Deno.openKv(":memory:");
  const { wrapped, calls } = refusing(createKvIdempotencyStore(kv), 3);
  const warnings: string[] = [];
  const kept = recorder(wrapped, warnings);
  kept.add(answer("a"));
  await new Promise((resolve) => setTimeout(resolve, 50));
  await kept.flush();
  assert.equal(calls.record, 4);
  assert.equal((await wrapped.lookup("a"))?.fingerprint, "fp-a");
  assert.deepEqual(warnings, []);
  kv.close();
});

Deno.test("IdempotencyRecorder gives up after six attempts and says so", async () => {
  const kv = await Deno.openKv(":memory:");
  const { wrapped, calls } = refusing(createKvIdempotencyStore(kv), 100);
  const warnings: string[] = [];
  const kept = recorder(wrapped, warnings);
  kept.add(answer("a"));
  await kept.flush();
  assert.equal(calls.record, 6);
  assert.equal(await wrapped.lookup("a"), null);
  assert.deepEqual(warnings, ["idempotency.record_failed"]);
  kv.close();
});

Deno.test("IdempotencyRecorder's flush waits at most its bound, then says how many it left", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = createKvIdempotencyStore(kv);
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const slow: IdempotencyStore = {
    lookup: (key) => store.lookup(key),
    record: async (answers, ttlMs) => {
      await held;
      await store.record(answers, ttlMs);
    },
  };
  const warnings: string[] = [];
  const kept = recorder(slow, warnings);
  kept.add(answer("a"));
  kept.add(answer("b"));
  assert.equal(await kept.flush(20), 2);
  assert.deepEqual(warnings, ["idempotency.flush_cut"]);
  release();
  assert.equal(await kept.flush(), 0);
  assert.equal((await store.lookup("b"))?.fingerprint, "fp-b");
  kv.close();
});

Deno.test("IdempotencyRecorder: answers given during a write all go in the next one", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = createKvIdempotencyStore(kv);
  const sizes: number[] = [];
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const slow: IdempotencyStore = {
    lookup: (key) => store.lookup(key),
    record: async (answers, ttlMs) => {
      sizes.push(answers.length);
      if (sizes.length === 1) await held;
      await store.record(answers, ttlMs);
    },
  };
  const warnings: string[] = [];
  const kept = recorder(slow, warnings);
  kept.add(answer("first"));
  await new Promise((resolve) => setTimeout(resolve, 20)); // the first write is under way
  for (let i = 0; i < 10; i++) {
    kept.add(answer(`k${i}`));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.deepEqual(sizes, [1]);
  release();
  assert.equal(await kept.flush(), 0);
  assert.deepEqual(sizes, [1, 10]);
  assert.equal((await store.lookup("k9"))?.fingerprint, "fp-k9");
  assert.deepEqual(warnings, []);
  kv.close();
});

Deno.test("IdempotencyRecorder: while a write is stuck at most 10,000 answers wait, the newest", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = createKvIdempotencyStore(kv);
  const sizes: number[] = [];
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const stuck: IdempotencyStore = {
    lookup: (key) => store.lookup(key),
    record: async (answers) => {
      sizes.push(answers.length);
      if (sizes.length === 1) await held;
    },
  };
  const warnings: string[] = [];
  const kept = recorder(stuck, warnings);
  kept.add(answer("first"));
  await new Promise((resolve) => setTimeout(resolve, 20));
  for (let i = 0; i < 10_005; i++) kept.add(answer(`k${i}`));
  release();
  assert.equal(await kept.flush(), 0);
  assert.deepEqual(sizes, [1, 10_000]);
  assert.deepEqual(warnings, ["idempotency.record_let_go"]);
  kv.close();
});
