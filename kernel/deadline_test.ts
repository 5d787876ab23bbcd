import assert from "node:assert/strict";
import { DeadlineGroup, withTimeout } from "./deadline.ts";

const never = () => new Promise<never>(() => {});
const after = <T>(ms: number, value: T) =>
  new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

Deno.test("withTimeout() passes a prompt answer through and rejects a late one", async () => {
  assert.equal(await withTimeout(Promise.resolve(1), 50), 1);
  await assert.rejects(withTimeout(never(), 10, "query"), (err: DOMException) => {
    assert.equal(err.name, "TimeoutError");
    assert.match(err.message, /query timed out after 10 ms/);
    return true;
  });
});

Deno.test("DeadlineGroup passes answers and errors through", async () => {
  const group = new DeadlineGroup(1000, "query");
  assert.equal(await group.run(after(5, "row")), "row");
  await assert.rejects(group.run(Promise.reject(new Error("boom"))), /boom/);
  assert.equal(group.size, 0);
});

Deno.test("DeadlineGroup times out each late call on its own deadline, keeping prompt ones", async () => {
  const group = new DeadlineGroup(40, "query");
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  // Each rejection is handled from the moment its call starts: on a busy machine the timers below
  // may fire late, and a deadline that passes before the test awaits it must not go unhandled.
  let first = 0;
  const stuck = assert.rejects(group.run(never()), (err: DOMException) => {
    first = elapsed();
    return err.name === "TimeoutError";
  });
  await after(20, null);
  const lateStarted = elapsed();
  let second = 0;
  const late = assert.rejects(group.run(never(), "late query"), (err: DOMException) => {
    second = elapsed();
    assert.match(err.message, /late query timed out after 40 ms/);
    return true;
  });
  // Settled by the test itself, at once: prompt however busy the machine is.
  const answer = Promise.withResolvers<string>();
  const prompt = group.run(answer.promise);
  answer.resolve("ok");
  assert.equal(await prompt, "ok");
  await stuck;
  await late;
  assert.ok(first >= 39, `the first call expired at ${first} ms, before its 40 ms`);
  assert.ok(
    second - lateStarted >= 39,
    `the late call, started at ${lateStarted} ms, expired at ${second} ms`,
  );
  assert.ok(second >= first, `the late call expired (${second} ms) before the first (${first} ms)`);
  assert.equal(group.size, 0);
});

Deno.test("DeadlineGroup holds no timer once idle (the test's op sanitizer would say so)", async () => {
  const group = new DeadlineGroup(10_000);
  await Promise.all([group.run(after(1, 1)), group.run(after(2, 2))]);
  assert.equal(group.size, 0);
});

// The calls below settle when the test says, never on a timer, so a busy machine cannot make them
// late; only the calls that never settle meet the budget.
Deno.test("DeadlineGroup keeps the deadlines of pending calls while thousands of others settle out of order", async () => {
  const group = new DeadlineGroup(100, "query");
  const stuck = assert.rejects(
    group.run(never()),
    (err: DOMException) => err.name === "TimeoutError",
  );
  const calls = Array.from({ length: 3000 }, () => Promise.withResolvers<number>());
  const answers = calls.map((call) => group.run(call.promise));
  const late = assert.rejects(
    group.run(never(), "late query"),
    /late query timed out after 100 ms/,
  );
  // 7919 is prime to 3000: every call is settled once, in a scrambled order.
  for (let i = 0; i < calls.length; i++) {
    const j = (i * 7919) % calls.length;
    calls[j]!.resolve(j);
  }
  assert.deepEqual(await Promise.all(answers), answers.map((_, i) => i));
  assert.equal(group.size, 2);
  await stuck;
  await late;
  assert.equal(group.size, 0);
  // Still in working order once idle again.
  assert.equal(await group.run(after(1, "again")), "again");
});

Deno.test("DeadlineGroup drops settled calls from its queue while others stay pending", async () => {
  const group = new DeadlineGroup(100, "query");
  // Settled in the order they started while the last one never is: the queue's settled head is
  // dropped as it goes, and the last call still times out on its deadline.
  const calls = Array.from({ length: 4000 }, () => Promise.withResolvers<number>());
  const answers = calls.map((call) => group.run(call.promise));
  const late = assert.rejects(
    group.run(never(), "late query"),
    /late query timed out after 100 ms/,
  );
  calls.forEach((call, i) => call.resolve(i));
  assert.deepEqual(await Promise.all(answers), answers.map((_, i) => i));
  assert.equal(group.size, 1);
  await late;
  assert.equal(group.size, 0);
});

Deno.test("DeadlineGroup counts a call once when it settles after it timed out", async () => {
  const group = new DeadlineGroup(50, "query");
  const slow = group.run(after(70, "too late"));
  await assert.rejects(slow, /query timed out after 50 ms/);
  const other = assert.rejects(group.run(never()), /query timed out after 50 ms/);
  await after(30, null); // the slow call has settled meanwhile, after its timeout
  assert.equal(group.size, 1);
  await other;
  assert.equal(group.size, 0);
});
