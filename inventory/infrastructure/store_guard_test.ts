import assert from "node:assert/strict";
import { MongoNetworkError, MongoServerError } from "mongodb";
import { DependencyUnavailableError, DomainError } from "@stockroom/kernel";
import { guardStore } from "./store_guard.ts";

function store(behaviour: () => Promise<unknown>) {
  return guardStore({ call: behaviour, close: () => Promise.resolve("closed") }, 50);
}

Deno.test("guardStore() turns an unreachable store into DependencyUnavailableError", async () => {
  await assert.rejects(
    store(() => Promise.reject(new MongoNetworkError("connection reset"))).call(),
    DependencyUnavailableError,
  );
  const socket = Object.assign(new Error("This socket has been ended"), { code: "EPIPE" });
  await assert.rejects(store(() => Promise.reject(socket)).call(), DependencyUnavailableError);
});

Deno.test("guardStore() bounds a call that never answers", async () => {
  await assert.rejects(store(() => new Promise(() => {})).call(), DependencyUnavailableError);
});

Deno.test("guardStore() passes results, domain errors and statement errors through", async () => {
  assert.equal(await store(() => Promise.resolve(7)).call(), 7);
  const conflict = new DomainError("conflict", "x", "taken");
  await assert.rejects(store(() => Promise.reject(conflict)).call(), (e) => e === conflict);
  const bad = new MongoServerError({ message: "bad query", code: 2 });
  await assert.rejects(store(() => Promise.reject(bad)).call(), (e) => e === bad);
  await assert.rejects(store(() => Promise.reject(new TypeError("bug"))).call(), TypeError);
});
