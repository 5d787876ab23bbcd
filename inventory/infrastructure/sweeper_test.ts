import assert from "node:assert/strict";
import { until } from "../../tests/support/until.ts";
import { Sweeper } from "./sweeper.ts";

const log = { info() {}, warn() {}, error() {} };

Deno.test("Sweeper runs rounds one at a time, at once after a full batch, and stops cleanly", async () => {
  const rounds: number[] = [];
  let running = 0;
  let overlapped = false;
  const results = [5, 5, 1, 0];
  const sweeper = new Sweeper({
    intervalMs: 5,
    batch: 5,
    log,
    async sweep() {
      overlapped ||= running > 0;
      running++;
      await new Promise((resolve) => setTimeout(resolve, 2));
      running--;
      rounds.push(Date.now());
      return results.shift() ?? 0;
    },
  }).start();
  await until(() => rounds.length >= 4, "four rounds");
  await sweeper.stop();
  const after = rounds.length;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(after >= 4, `rounds: ${after}`);
  assert.equal(rounds.length, after, "no round after stop()");
  assert.equal(overlapped, false);
});

Deno.test("Sweeper survives a failing round and reports it", async () => {
  const warnings: string[] = [];
  let calls = 0;
  const sweeper = new Sweeper({
    intervalMs: 1,
    batch: 10,
    log: { ...log, warn: (_: unknown, m: string) => void warnings.push(m) },
    sweep() {
      calls++;
      return calls === 1 ? Promise.reject(new Error("store down")) : Promise.resolve(0);
    },
  }).start();
  await until(() => calls >= 2, "a round after the failed one");
  await sweeper.stop();
  assert.ok(calls >= 2);
  assert.deepEqual(warnings, ["reservation.sweep_round_failed"]);
});
