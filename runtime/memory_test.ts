import assert from "node:assert/strict";
import { releaseMemory } from "./memory.ts";

Deno.test("releaseMemory() shrinks a heap grown by garbage", () => {
  let garbage: { i: number }[] | null = [];
  for (let i = 0; i < 1_000_000; i++) garbage.push({ i });
  const grown = Deno.memoryUsage().heapTotal;
  garbage = null;
  releaseMemory();
  const after = Deno.memoryUsage().heapTotal;
  // ~50 MB of objects became garbage; the heap gives back what held them.
  assert.ok(after < grown - 20e6, `heap ${grown} -> ${after} bytes`);
  assert.equal(garbage, null);
});
