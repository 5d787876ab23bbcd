import assert from "node:assert/strict";
import { OverloadedError } from "@stockroom/kernel";
import { type AdmissionEvent, AdmissionGate } from "./admission.ts";

/** A call that stays in flight until released. */
function held() {
  let release!: (value: string) => void;
  const done = new Promise<string>((resolve) => release = resolve);
  return { call: () => done, release };
}

function gate(options: { limit: number; queue: number; maxWaitMs: number }) {
  const events: AdmissionEvent[] = [];
  const g = new AdmissionGate({
    dependency: "database",
    ...options,
    onEvent: (e) => events.push(e),
  });
  return { g, events };
}

Deno.test("AdmissionGate admits up to its limit and runs the rest in arrival order", async () => {
  const { g, events } = gate({ limit: 2, queue: 10, maxWaitMs: 60_000 });
  const calls = [held(), held(), held(), held()];
  const order: number[] = [];
  const results = calls.map((c, i) => g.run(() => c.call().then((v) => (order.push(i), v))));
  assert.equal(g.inFlight, 2);
  assert.equal(g.waiting, 2);
  calls[1]!.release("b");
  await results[1];
  assert.deepEqual([g.inFlight, g.waiting], [2, 1], "the oldest waiter took the slot");
  calls[3]!.release("d");
  calls[0]!.release("a");
  calls[2]!.release("c");
  assert.deepEqual(await Promise.all(results), ["a", "b", "c", "d"]);
  assert.deepEqual(order, [1, 0, 2, 3]);
  assert.deepEqual([g.inFlight, g.waiting], [0, 0]);
  assert.deepEqual(events, ["admitted", "admitted", "queued", "queued", "admitted", "admitted"]);
});

Deno.test("AdmissionGate refuses at once, calling nothing, when its queue is full", async () => {
  const { g, events } = gate({ limit: 1, queue: 1, maxWaitMs: 60_000 });
  const first = held();
  const running = g.run(first.call);
  const queued = g.run(() => Promise.resolve("queued"));
  let called = false;
  await assert.rejects(
    g.run(() => {
      called = true;
      return Promise.resolve("never");
    }),
    (err: unknown) => err instanceof OverloadedError && err.code === "overloaded",
  );
  assert.equal(called, false);
  first.release("first");
  assert.deepEqual(await Promise.all([running, queued]), ["first", "queued"]);
  assert.deepEqual(events, ["admitted", "queued", "shed", "admitted"]);
});

Deno.test("AdmissionGate.shedIfFull says yes, and counts a shed, only when a call could not queue", async () => {
  const { g, events } = gate({ limit: 1, queue: 1, maxWaitMs: 60_000 });
  assert.equal(g.shedIfFull(), false, "a free slot");
  const first = held();
  const running = g.run(first.call);
  assert.equal(g.shedIfFull(), false, "room in the queue");
  const queued = g.run(() => Promise.resolve("queued"));
  assert.equal(g.shedIfFull(), true, "slot and queue taken");
  first.release("first");
  await Promise.all([running, queued]);
  assert.equal(g.shedIfFull(), false, "free again");
  assert.deepEqual(events, ["admitted", "queued", "shed", "admitted"]);
});

function timedGate() {
  const clock = { now: 0 };
  const events: AdmissionEvent[] = [];
  const g = new AdmissionGate({
    dependency: "database",
    limit: 2,
    queue: 100,
    maxWaitMs: 50,
    now: () => clock.now,
    onEvent: (e) => events.push(e),
  });
  /** Runs `n` calls one after another, each taking `ms`. */
  const finish = async (n: number, ms: number) => {
    for (let i = 0; i < n; i++) {
      const call = held();
      const running = g.run(call.call);
      clock.now += ms;
      call.release("done");
      await running;
    }
  };
  return { g, events, finish };
}

Deno.test("AdmissionGate queues only the calls that can expect a slot within maxWaitMs", async () => {
  const { g, events, finish } = timedGate();
  // Calls take 20 ms: two slots free up every 20 ms, so five waiters can start within 50 ms.
  await finish(8, 20);
  assert.equal(g.averageCallMs, 20);
  events.length = 0;
  const running = [held(), held()];
  const inFlight = running.map((c) => g.run(c.call));
  const waiters = Array.from({ length: 5 }, (_, i) => g.run(() => Promise.resolve(i)));
  assert.equal(g.waiting, 5);
  assert.equal(g.shedIfFull(), true, "a sixth waiter would start after ~60 ms");
  await assert.rejects(g.run(() => Promise.resolve("never")), OverloadedError);
  assert.equal(g.waiting, 5, "refused at once, not queued");
  for (const c of running) c.release("r");
  await Promise.all([...inFlight, ...waiters]);
  assert.equal(events.filter((e) => e === "shed").length, 2);
});

Deno.test("AdmissionGate trusts its average only after four calls per slot", async () => {
  const { g, finish } = timedGate();
  await finish(7, 1000); // a cold start: every call slow
  const running = [held(), held()];
  const inFlight = running.map((c) => g.run(c.call));
  const waiters = Array.from({ length: 10 }, (_, i) => g.run(() => Promise.resolve(i)));
  assert.equal(g.waiting, 10, "only the cap applies during the warm-up");
  for (const c of running) c.release("r");
  await Promise.all([...inFlight, ...waiters]);
});

Deno.test("AdmissionGate refuses a waiter that could not start within maxWaitMs", async () => {
  let now = 0;
  const events: AdmissionEvent[] = [];
  const g = new AdmissionGate({
    dependency: "database",
    limit: 1,
    queue: 10,
    maxWaitMs: 5,
    now: () => now,
    onEvent: (e) => events.push(e),
  });
  const first = held();
  const running = g.run(first.call);
  let called = false;
  const late = g.run(() => {
    called = true;
    return Promise.resolve("late");
  });
  now = 10; // the waiter's time is up by the time its timer fires
  await assert.rejects(late, OverloadedError);
  assert.equal(called, false, "a refused call never reaches the store");
  assert.equal(g.waiting, 0);
  first.release("first");
  assert.equal(await running, "first");
  assert.equal(g.inFlight, 0);
  assert.deepEqual(events, ["admitted", "queued", "shed"]);
});

Deno.test("AdmissionGate frees the slot when a call fails", async () => {
  const { g } = gate({ limit: 1, queue: 1, maxWaitMs: 60_000 });
  await assert.rejects(g.run(() => Promise.reject(new Error("store said no"))), /store said no/);
  assert.equal(await g.run(() => Promise.resolve("next")), "next");
  assert.equal(g.inFlight, 0);
});

Deno.test("AdmissionGate rejects a nonsensical configuration", () => {
  assert.throws(() => new AdmissionGate({ dependency: "x", limit: 0, queue: 1, maxWaitMs: 1 }));
});
