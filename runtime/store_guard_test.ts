import assert from "node:assert/strict";
import {
  DependencyUnavailableError,
  DomainError,
  OutcomeUnknownError,
  OverloadedError,
} from "@stockroom/kernel";
import { AdmissionGate } from "./admission.ts";
import { guardStore, type StoreFailure } from "./store_guard.ts";

class Refused extends Error {}
class InDoubt extends Error {}

function classify(err: unknown): StoreFailure {
  return err instanceof Refused ? "refused" : err instanceof InDoubt ? "in_doubt" : "other";
}

function guarded(
  behaviour: () => Promise<unknown>,
  options: { limit?: number; queue?: number } = {},
) {
  const gate = (name: string) =>
    new AdmissionGate({
      dependency: name,
      limit: options.limit ?? 4,
      queue: options.queue ?? 4,
      maxWaitMs: 60_000,
    });
  const calls: string[] = [];
  const store = {
    read: () => (calls.push("read"), behaviour()),
    write: () => (calls.push("write"), behaviour()),
    ping: () => (calls.push("ping"), behaviour()),
    close: () => Promise.resolve("closed"),
  };
  const gates = { read: gate("database"), write: gate("database") };
  const guarded = guardStore(store, {
    dependency: "database",
    gates,
    writes: ["write"],
    ungated: ["ping"],
    timeoutMs: 50,
    classify,
    settle: "retry with the same key",
  });
  return { store: guarded, calls, gates };
}

Deno.test("guardStore() says a refused call applied nothing, for reads and writes alike", async () => {
  const { store } = guarded(() => Promise.reject(new Refused("connection refused")));
  await assert.rejects(store.read(), DependencyUnavailableError);
  await assert.rejects(store.write(), DependencyUnavailableError);
});

Deno.test("guardStore() says a write in doubt has an unknown outcome, and a read is just unavailable", async () => {
  const { store } = guarded(() => Promise.reject(new InDoubt("connection reset")));
  await assert.rejects(store.write(), (err: unknown) => {
    assert.ok(err instanceof OutcomeUnknownError);
    assert.equal(err.code, "outcome_unknown");
    assert.match(err.message, /retry with the same key/);
    return true;
  });
  await assert.rejects(store.read(), DependencyUnavailableError);
});

Deno.test("guardStore() bounds a call that never answers: a write's outcome is then unknown", async () => {
  const { store } = guarded(() => new Promise(() => {}));
  await assert.rejects(store.write(), OutcomeUnknownError);
  await assert.rejects(store.read(), DependencyUnavailableError);
});

Deno.test("guardStore() passes results, domain errors and the store's own errors through", async () => {
  assert.equal(await guarded(() => Promise.resolve(7)).store.read(), 7);
  const conflict = new DomainError("conflict", "x", "taken");
  await assert.rejects(
    guarded(() => Promise.reject(conflict)).store.write(),
    (e) => e === conflict,
  );
  const bug = new TypeError("bug");
  await assert.rejects(guarded(() => Promise.reject(bug)).store.write(), (e) => e === bug);
  assert.equal(await guarded(() => Promise.resolve(1)).store.close(), "closed");
});

Deno.test("guardStore() refuses past admission without calling the store, but probes always pass", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  const { store, calls, gates } = guarded(() => held, { limit: 1, queue: 0 });
  const first = store.write();
  await assert.rejects(store.write(), OverloadedError);
  assert.deepEqual(calls, ["write"], "the refused write never reached the store");
  // Reads have their own gate: a replay never waits behind writes.
  const read = store.read();
  assert.equal(gates.read.inFlight, 1);
  // Readiness is not admission-controlled: overload is not an outage.
  const ping = store.ping();
  release();
  await Promise.all([first, read, ping]);
  assert.deepEqual(calls, ["write", "read", "ping"]);
});

Deno.test("guardStore() answers a write by its read when it would be refused, and only then", async () => {
  const gates = {
    read: new AdmissionGate({ dependency: "database", limit: 4, queue: 4, maxWaitMs: 60_000 }),
    write: new AdmissionGate({ dependency: "database", limit: 1, queue: 1, maxWaitMs: 60_000 }),
  };
  const calls: string[] = [];
  const hold = Promise.withResolvers<void>();
  const store = {
    apply: async (key: string) => {
      calls.push(`apply ${key}`);
      if (key === "slow") await hold.promise;
      return `applied ${key}`;
    },
    replayed: (
      key: string,
    ) => (calls.push(`replayed ${key}`),
      Promise.resolve(key.startsWith("done") ? "replayed done" : null)),
  };
  const guarded = guardStore(store, {
    dependency: "database",
    gates,
    writes: ["apply"],
    answeredByRead: { apply: { read: "replayed", when: (key: string) => key !== "plain" } },
    timeoutMs: 10_000,
    classify,
    settle: "retry",
  });
  // A free slot, then a free place in the queue: the write goes its way, no read first.
  assert.equal(await guarded.apply("done"), "applied done");
  const slow = guarded.apply("slow");
  const queued = guarded.apply("done-queued");
  // The gate would refuse now: a known answer comes from one read; an unknown write is refused,
  // and so is one that no read can answer (`when` says so), without a read.
  assert.equal(await guarded.apply("done"), "replayed done");
  await assert.rejects(guarded.apply("new"), OverloadedError);
  await assert.rejects(guarded.apply("plain"), OverloadedError);
  hold.resolve();
  assert.deepEqual([await slow, await queued], ["applied slow", "applied done-queued"]);
  assert.deepEqual(calls, [
    "apply done",
    "apply slow",
    "replayed done",
    "replayed new",
    "apply done-queued",
  ]);
});
