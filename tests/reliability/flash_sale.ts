import assert from "node:assert/strict";
import {
  adjust,
  API_KEY,
  assertNoSecretsInLogs,
  call,
  type CallResult,
  countBy,
  createProduct,
  createStock,
  createStores,
  errorDocumentProblem,
  figures,
  hex,
  ignore,
  JSONAPI,
  percentile,
  productsEnv,
  quantityOf,
  type RunningService,
  show,
  skipStep,
  sleep,
  startInventoryPair,
  startService,
  stopAll,
} from "./support.ts";
import { pidsRunning, rawBurst } from "./raw_burst.ts";

/**
 * Case 7: a flash sale on one product over two inventory instances sharing one MongoDB database
 * (no balancer: the test spreads the requests itself), one products instance.
 * - burst: capacity measured by a closed loop, then ≥ 10 s worth of purchases sent at once. Every
 *   answer is a sale or an honest refusal (503 overloaded with Retry-After, nothing applied),
 *   within the 6 s bound; readiness stays 200. Goodput stays at half the capacity or better: a
 *   burst below it is measured again on a new product, up to three times, every one of them held
 *   to the same honesty (on two shared cores one burst in which the VM stalled the store came to
 *   0.35 of a capacity measured three seconds earlier; the others ran 0.66-1.06).
 * - replay storm: 300 keyed purchases, then the same 300 again: the second wave only replays.
 * - SIGKILL: 300 keyed purchases in flight on A when it is killed; every key retried on B until
 *   it answers 200: each purchase applied exactly once.
 */

/** The stated bound on any answer under overload. */
const MAX_ANSWER_MS = 6000;
const CAPACITY_WORKERS = 64;
const CAPACITY_MS = 3000;
const BURST_MIN = 4000;
const BURST_ATTEMPTS = 3;
const KEYED = 300;
const RETRY_FOR_MS = 30_000;

const ms = (values: number[], p: number) => Math.round(percentile(values, p));
const latency = (rs: CallResult[]) =>
  rs.length === 0 ? {} : {
    p50: ms(rs.map((r) => r.ms), 50),
    p99: ms(rs.map((r) => r.ms), 99),
    max: ms(rs.map((r) => r.ms), 100),
  };
const code = (r: CallResult): string | undefined => r.doc?.errors?.[0]?.code;
const retryAfterOk = (r: CallResult) => /^[1-9][0-9]*$/.test(r.headers.get("retry-after") ?? "");

function purchase(base: string, id: string, key?: string): Promise<CallResult> {
  return call(base, `/inventory/${id}`, {
    method: "PATCH",
    body: adjust(id, -1),
    headers: key === undefined ? {} : { "Idempotency-Key": key },
  });
}

/** `store_admissions_total` from an instance's /metrics, summed by outcome (and by access). */
async function admissions(base: string): Promise<Record<string, number>> {
  const r = await call(base, "/metrics");
  assert.equal(r.status, 200, show(r));
  const sums: Record<string, number> = {};
  for (const line of r.text.split("\n")) {
    const m = /^store_admissions_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      [...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]),
    );
    const value = Number(m[2]);
    sums[labels.outcome!] = (sums[labels.outcome!] ?? 0) + value;
    const both = `${labels.access}_${labels.outcome}`;
    sums[both] = (sums[both] ?? 0) + value;
  }
  return sums;
}

/** What a service logged at WARN or above: count per message and code, with one example each. */
function troubleLines(service: RunningService): Record<string, { count: number; example: string }> {
  const found: Record<string, { count: number; example: string }> = {};
  for (const l of service.logs()) {
    if (l.level !== "WARN" && l.level !== "ERROR" && l.level !== "FATAL") continue;
    const what = `${l.level} ${l.message} ${l.error_code ?? l.status ?? ""}`.trim();
    found[what] ??= { count: 0, example: JSON.stringify(l).slice(0, 700) };
    found[what].count++;
  }
  return found;
}

/**
 * The services' own durations (access lines) of PATCHes to `path` since `since` (epoch ms), by
 * status: what the handler took, apart from connection and client time; and the span (s) from the
 * first request's arrival to the last answer, as the services saw it.
 */
async function serverDurations(
  services: RunningService[],
  path: string,
  since: number,
): Promise<Record<string, { n: number; p50: number; p99: number; max: number; span_s: string }>> {
  await sleep(500); // lines are written in batches
  const byStatus: Record<string, { d: number[]; first: number; last: number }> = {};
  for (const s of services) {
    for (const l of s.logs()) {
      const at = Date.parse(String(l.timestamp));
      if (
        l.message !== "request completed" || l.method !== "PATCH" || l.path !== path || at < since
      ) continue;
      const d = Number(l.duration_ms);
      const entry = byStatus[String(l.status)] ??= { d: [], first: Infinity, last: 0 };
      entry.d.push(d);
      entry.first = Math.min(entry.first, at - d);
      entry.last = Math.max(entry.last, at);
    }
  }
  return Object.fromEntries(
    Object.entries(byStatus).map(([status, { d, first, last }]) => [status, {
      n: d.length,
      p50: ms(d, 50),
      p99: ms(d, 99),
      max: ms(d, 100),
      span_s: ((last - first) / 1000).toFixed(2),
    }]),
  );
}

/** A step that RELIABILITY_ONLY=word,… can leave out. */
function step(t: Deno.TestContext, name: string, fn: () => Promise<void>): Promise<boolean> {
  return t.step({ name, ignore: skipStep(name), fn });
}

/**
 * One burst on a new product over A and B: capacity by a closed loop, then ≥ 10 s of it at once.
 * Asserts that the burst was honest; returns its goodput and the capacity for the caller.
 */
async function flashBurst(
  A: RunningService,
  B: RunningService,
  P: string,
  attempt: number,
): Promise<{ goodput: number; capacity: number }> {
  const instances = [A.url, B.url];
  const id = await createProduct(P, "Flash sale console");
  const STOCK = 1_000_000;
  await createStock(instances[0]!, id, STOCK);

  // Capacity: a closed loop of one-unit purchases over both instances.
  const loop: CallResult[] = [];
  const loopStarted = performance.now();
  await Promise.all(
    Array.from({ length: CAPACITY_WORKERS }, async (_, w) => {
      while (performance.now() - loopStarted < CAPACITY_MS) {
        loop.push(await purchase(instances[w % 2]!, id));
      }
    }),
  );
  const loopSeconds = (performance.now() - loopStarted) / 1000;
  const loopOk = loop.filter((r) => r.status === 200).length;
  const capacity = loopOk / loopSeconds;
  const afterLoop = await quantityOf(instances[1]!, id);
  const loopStatuses = countBy(loop, (r) => r.status);

  // The burst, with readiness polled on both instances while it runs.
  const n = Math.max(BURST_MIN, Math.ceil(10 * capacity));
  let bursting = true;
  const ready: CallResult[][] = instances.map(() => []);
  const pollers = instances.map(async (base, k) => {
    while (bursting) {
      ready[k]!.push(await call(base, "/health/ready", { key: null, timeoutMs: 10_000 }));
      await sleep(50);
    }
  });
  const watch = { A: A.pid, B: B.pid, ferretdb: pidsRunning("ferretdb")[0] ?? 0 };
  const {
    answers: burst,
    cpuSeconds,
    startedAt: burstWallStart,
    seconds: burstSeconds,
  } = await rawBurst(
    Array.from({ length: n }, (_, i) => ({
      base: instances[i % 2]!,
      method: "PATCH",
      path: `/inventory/${id}`,
      headers: { "X-API-Key": API_KEY, "Content-Type": JSONAPI },
      body: JSON.stringify(adjust(id, -1)),
    })),
    { watch },
  );
  const burstEndedAt = Date.now();
  bursting = false;
  await Promise.all(pollers);
  const final = await quantityOf(instances[0]!, id);
  const metrics = await Promise.all(instances.map(admissions));
  // The services' own view of the burst (access lines), to tell server from client time.
  const server = await serverDurations([A, B], `/inventory/${id}`, burstWallStart);
  const ok = burst.filter((r) => r.status === 200);
  const refused = burst.filter((r) => r.status === 503 || r.status === 429);
  const overloaded = refused.filter((r) => code(r) === "overloaded");
  const unavailable = refused.filter((r) => code(r) === "database_unavailable");
  const unexpected = burst.filter((r) => ![200, 503, 429].includes(r.status));
  const badRefusals = refused.filter((r) =>
    !retryAfterOk(r) || errorDocumentProblem(r) !== null ||
    (code(r) !== "overloaded" && code(r) !== "database_unavailable")
  );
  const slow = burst.filter((r) => r.ms > MAX_ANSWER_MS);
  const goodput = ok.length / burstSeconds;
  const applied = afterLoop - final;
  const readyDuring = ready.map((polls) => polls.filter((r) => r.started < burstEndedAt));
  const readyBad = readyDuring.flat().filter((r) => r.status !== 200);

  figures("7 flash burst", {
    attempt,
    capacity_per_s: Math.round(capacity),
    capacity_loop: {
      requests: loop.length,
      statuses: loopStatuses,
      s: loopSeconds.toFixed(2),
    },
    n,
    statuses: countBy(burst, (r) => r.status),
    overloaded: overloaded.length,
    database_unavailable: unavailable.length,
    ok_ms: latency(ok),
    refused_ms: latency(refused),
    server_ms: server,
    burst_s: burstSeconds.toFixed(2),
    cpu_s: cpuSeconds,
    goodput_per_s: Math.round(goodput),
    goodput_vs_capacity: (goodput / capacity).toFixed(2),
    applied,
    ok: ok.length,
    ready_polls: readyDuring.map((p) => p.length),
    ready_statuses: countBy(readyDuring.flat(), (r) => r.status),
    ...(readyBad.length > 0 ? { ready_not_200: show(readyBad[0]!) } : {}),
    admissions_A: metrics[0],
    admissions_B: metrics[1],
  });
  if (
    unexpected.length + badRefusals.length + slow.length + readyBad.length > 0 ||
    applied !== ok.length || goodput < 0.5 * capacity
  ) {
    for (const s of [A, B]) console.log(`${s.url} log:`, troubleLines(s));
  }

  assert.ok(
    loopOk > 0,
    `the capacity loop sold something: ${JSON.stringify(loopStatuses)}`,
  );
  assert.equal(STOCK - afterLoop, loopOk, "the capacity loop applied exactly its 200s");
  assert.deepEqual(unexpected.slice(0, 5).map(show), [], "only 200, 503 and 429");
  assert.deepEqual(badRefusals.slice(0, 5).map(show), [], "refusals: Retry-After, code");
  assert.ok(overloaded.length > 0, "the burst was shed as overloaded");
  assert.equal(unavailable.length, 0, "the store is healthy: no database_unavailable");
  assert.deepEqual(slow.slice(0, 5).map(show), [], `no answer over ${MAX_ANSWER_MS} ms`);
  assert.equal(applied, ok.length, "applied units equal the 200s exactly");
  for (const [k, polls] of readyDuring.entries()) {
    assert.ok(polls.length > 0, `readiness of instance ${k} was polled during the burst`);
  }
  assert.deepEqual(readyBad.slice(0, 5).map(show), [], "readiness 200 during the burst");
  for (const m of metrics.slice(0, 1)) {
    assert.ok((m.admitted ?? 0) > 0, `admitted counted: ${JSON.stringify(m)}`);
    assert.ok((m.shed ?? 0) > 0, `shed counted: ${JSON.stringify(m)}`);
  }
  return { goodput, capacity };
}

Deno.test({
  name: "reliability: flash sale over two inventory instances (burst, replay storm, SIGKILL)",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stores = await createStores("flash");
    let products: RunningService | undefined;
    const inventories: RunningService[] = [];
    try {
      products = await startService("products", productsEnv(stores));
      const P = products.url;

      await step(t, "flash burst: ≥ 10 s of capacity at once, honest refusals", async () => {
        // The shipped wait bound, not the harness's longer one.
        const [A, B] = await startInventoryPair(stores, P, { STORE_MAX_WAIT_MS: "1000" });
        inventories.push(A, B);
        try {
          // Every burst must be honest (its own assertions). Goodput is a rate on two shared cores,
          // measured against a capacity taken just before: one burst in which the VM stalled the
          // store is not a collapse, so a burst below half the capacity is measured again, up to
          // BURST_ATTEMPTS times, and a collapse (every attempt below) fails.
          let best = { goodput: 0, capacity: Infinity };
          for (let attempt = 1; attempt <= BURST_ATTEMPTS; attempt++) {
            const r = await flashBurst(A, B, P, attempt);
            if (r.goodput / r.capacity > best.goodput / best.capacity) best = r;
            if (r.goodput >= 0.5 * r.capacity) break;
          }
          assert.ok(
            best.goodput >= 0.5 * best.capacity,
            `goodput ${best.goodput.toFixed(0)}/s ≥ half the capacity ${
              best.capacity.toFixed(0)
            }/s in one of ${BURST_ATTEMPTS} bursts`,
          );
        } finally {
          await stopAll([A, B]);
        }
      });

      await step(
        t,
        "flash replay storm: 300 keyed purchases, then the same 300 again",
        async () => {
          const [A, B] = await startInventoryPair(stores, P);
          inventories.push(A, B);
          try {
            const instances = [A.url, B.url];
            const id = await createProduct(P, "Flash sale headphones");
            await createStock(instances[0]!, id, 10_000);
            const keys = Array.from({ length: KEYED }, (_, i) => `flash-${hex(8)}-${i}`);
            const stormStarted = Date.now();

            // First wave. A 503 (nothing applied) is retried with the same key after its
            // Retry-After (1 s); so is a 409 in progress, should the released claim lag behind.
            const firstStarted = performance.now();
            const first = await Promise.all(keys.map((k, i) => purchase(instances[i % 2]!, id, k)));
            const firstStatuses = countBy(
              first,
              (r) => `${r.status}${code(r) ? ` ${code(r)}` : ""}`,
            );
            const answers = [...first];
            const retryStatuses: CallResult[] = [];
            const needRetry = new Set<number>();
            const deadline = Date.now() + RETRY_FOR_MS;
            for (;;) {
              const pending = answers.flatMap((r, i) =>
                r.status === 503 || (r.status === 409 && code(r) === "idempotency_key_in_progress")
                  ? [i]
                  : []
              );
              if (pending.length === 0 || Date.now() > deadline) break;
              for (const i of pending) needRetry.add(i);
              await sleep(1000);
              await Promise.all(pending.map(async (i) => {
                const r = await purchase(instances[i % 2]!, id, keys[i]);
                retryStatuses.push(r);
                answers[i] = r;
              }));
            }
            const firstSeconds = (performance.now() - firstStarted) / 1000;
            const afterFirst = await quantityOf(instances[0]!, id);

            // Second wave: the same keys and bodies, each on the other instance.
            const secondStarted = performance.now();
            const second = await Promise.all(
              keys.map((k, i) => purchase(instances[(i + 1) % 2]!, id, k)),
            );
            const secondSeconds = (performance.now() - secondStarted) / 1000;
            const final = await quantityOf(instances[1]!, id);
            const server = await serverDurations([A, B], `/inventory/${id}`, stormStarted);

            const firstBad = first.filter((r) =>
              !(r.status === 200 || (r.status === 503 && code(r) === "overloaded"))
            );
            const retryBad = retryStatuses.filter((r) =>
              !(r.status === 200 || (r.status === 503 && code(r) === "overloaded") ||
                (r.status === 409 && code(r) === "idempotency_key_in_progress"))
            );
            const notOk = answers.filter((r) => r.status !== 200);
            const notReplayed = second.filter((r, i) =>
              r.status !== 200 || r.headers.get("idempotent-replayed") !== "true" ||
              sameChange(r, answers[i]!) !== ""
            );
            figures("7 flash replay storm", {
              keys: KEYED,
              first_wave: {
                statuses: firstStatuses,
                s: firstSeconds.toFixed(2),
                ...latency(first),
              },
              keys_needing_retry: needRetry.size,
              retries: retryStatuses.length,
              retry_statuses: countBy(
                retryStatuses,
                (r) => `${r.status}${code(r) ? ` ${code(r)}` : ""}`,
              ),
              second_wave: {
                statuses: countBy(second, (r) => `${r.status}${code(r) ? ` ${code(r)}` : ""}`),
                replayed: second.filter((r) =>
                  r.headers.get("idempotent-replayed") === "true"
                ).length,
                s: secondSeconds.toFixed(2),
                ...latency(second),
              },
              server_ms: server,
              after_first: afterFirst,
              final,
            });
            if (firstBad.length + retryBad.length + notOk.length + notReplayed.length > 0) {
              for (const s of [A, B]) console.log(`${s.url} log:`, troubleLines(s));
            }

            assert.deepEqual(
              firstBad.slice(0, 5).map(show),
              [],
              "first wave: 200 or 503 overloaded",
            );
            assert.deepEqual(
              retryBad.slice(0, 5).map(show),
              [],
              "retries: 200, 503 overloaded or 409 in progress",
            );
            assert.deepEqual(notOk.slice(0, 5).map(show), [], "every key answered 200 in the end");
            assert.equal(afterFirst, 10_000 - KEYED, "the first wave applied each key once");
            assert.deepEqual(
              notReplayed.slice(0, 5).map((r) =>
                show(r) + ` replayed=${r.headers.get("idempotent-replayed")}`
              ),
              [],
              "second wave: 200, Idempotent-Replayed: true, the first answer's change",
            );
            assert.equal(final, 10_000 - KEYED, "the second wave applied nothing");
          } finally {
            await stopAll([A, B]);
          }
        },
      );

      await step(
        t,
        "flash SIGKILL: A killed with 300 keyed purchases in flight, retried on B",
        async () => {
          const [A, B] = await startInventoryPair(stores, P);
          inventories.push(A, B);
          try {
            const id = await createProduct(P, "Flash sale camera");
            await createStock(A.url, id, 10_000);
            const keys = Array.from({ length: KEYED }, (_, i) => `flash-kill-${hex(8)}-${i}`);

            let answered = 0;
            let firstAnswerAt: number | undefined;
            let killAt: number | undefined;
            let killing: Promise<void> | undefined;
            const kill = () => {
              if (killing) return;
              killAt = Date.now();
              killing = A.kill();
            };
            const sentAt = Date.now();
            const onA = keys.map((k) =>
              purchase(A.url, id, k).then((r) => {
                if (r.status !== 0) {
                  answered++;
                  if (firstAnswerAt === undefined) {
                    firstAnswerAt = Date.now();
                    setTimeout(kill, 150);
                  }
                  if (answered >= 100) kill();
                }
                return r;
              })
            );
            // Whatever happens, A dies while purchases are in flight.
            const fallback = setTimeout(kill, 10_000);
            const beforeKill = await Promise.all(onA);
            clearTimeout(fallback);
            kill();
            await killing;
            const answeredBeforeKill = beforeKill.filter((r) =>
              r.status !== 0 && r.ended <= killAt!
            );
            const onAStatuses = countBy(
              beforeKill,
              (r) => `${r.status}${code(r) ? ` ${code(r)}` : ""}`,
            );

            // Every key on B: at once, then every second until each has answered 200.
            const final200 = new Map<number, CallResult>();
            const during: CallResult[] = [];
            const rounds: Record<string, number>[] = [];
            const roundTimes: string[] = [];
            const retryStarted = Date.now();
            let settledAt: number | undefined;
            for (let round = 0;; round++) {
              const pending = keys.flatMap((_, i) => final200.has(i) ? [] : [i]);
              if (pending.length === 0) {
                settledAt = Date.now();
                break;
              }
              if (Date.now() - retryStarted > RETRY_FOR_MS) break;
              if (round > 0) await sleep(1000);
              const roundStarted = Date.now();
              const results = await Promise.all(pending.map((i) => purchase(B.url, id, keys[i])));
              roundTimes.push(`+${roundStarted - killAt!}ms:${Date.now() - roundStarted}ms`);
              rounds.push(countBy(results, (r) => `${r.status}${code(r) ? ` ${code(r)}` : ""}`));
              results.forEach((r, k) => {
                during.push(r);
                if (r.status === 200) final200.set(pending[k]!, r);
              });
            }
            const final = await quantityOf(B.url, id);
            const serverB = await serverDurations([B], `/inventory/${id}`, retryStarted);

            const badDuring = during.filter((r) =>
              !(r.status === 200 ||
                (r.status === 409 && code(r) === "idempotency_key_in_progress" &&
                  retryAfterOk(r)) ||
                (r.status === 503 && code(r) === "overloaded" && retryAfterOk(r)))
            );
            // A key A answered 200 was completed there: if B replays it, it is A's answer.
            const replayMismatch = keys.flatMap((_, i) => {
              const a = beforeKill[i]!;
              const b = final200.get(i);
              if (
                a.status !== 200 || !b || b.headers.get("idempotent-replayed") !== "true"
              ) return [];
              const difference = sameChange(a, b);
              return difference === "" ? [] : [`${show(a)} ≠ ${show(b)}: ${difference}`];
            });
            const replayedOnB = [...final200.values()].filter((r) =>
              r.headers.get("idempotent-replayed") === "true"
            ).length;
            figures("7 flash sigkill", {
              keys: KEYED,
              answered_before_kill: answeredBeforeKill.length,
              kill_after_ms: killAt! - sentAt,
              statuses_on_A: onAStatuses,
              rounds: rounds.length,
              statuses_per_round: rounds,
              round_start_after_kill_and_duration: roundTimes,
              statuses_during_retries: countBy(
                during,
                (r) => `${r.status}${code(r) ? ` ${code(r)}` : ""}`,
              ),
              settled_200: final200.size,
              replayed_on_B: replayedOnB,
              server_ms_B: serverB,
              settled_after_kill_ms: settledAt === undefined ? "never" : settledAt - killAt!,
              final,
              expected: 10_000 - KEYED,
            });
            if (badDuring.length > 0 || final !== 10_000 - KEYED || final200.size < KEYED) {
              for (const s of [A, B]) console.log(`${s.url} log:`, troubleLines(s));
              const events = B.logs().filter((l) =>
                l.message === "inventory.adjusted" || l.message === "inventory.replayed"
              );
              console.log(
                `B events:`,
                countBy(events, (l) => String(l.message)),
              );
            }

            assert.deepEqual(
              badDuring.slice(0, 5).map(show),
              [],
              "on B: 200, 409 idempotency_key_in_progress or 503 overloaded, with Retry-After",
            );
            assert.equal(final200.size, KEYED, "every key answered 200 on B in the end");
            assert.deepEqual(replayMismatch.slice(0, 3), [], "a replay on B is A's first answer");
            assert.equal(final, 10_000 - KEYED, "each purchase applied exactly once");
          } finally {
            await stopAll([A, B]);
          }
        },
      );

      const lines = await assertNoSecretsInLogs([products, ...inventories], [API_KEY]);
      assert.ok(lines > 0);
    } finally {
      try {
        await stopAll([...inventories, products]);
      } finally {
        await stores.drop();
      }
    }
  },
});

/**
 * "" when two answers report the same change: the same resource, attributes and version. Their
 * links may differ: each instance writes its own origin into them (a replay the instance renders
 * from the change's movement, rather than the kept bytes of the first answer, has its own).
 */
function sameChange(a: CallResult, b: CallResult): string {
  const view = (r: CallResult) =>
    JSON.stringify({
      id: r.doc?.data?.id,
      attributes: r.doc?.data?.attributes,
      etag: r.headers.get("etag"),
    });
  return view(a) === view(b) ? "" : `${view(a)} ≠ ${view(b)}`;
}
