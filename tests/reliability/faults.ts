import assert from "node:assert/strict";
import { FaultProxy } from "./fault_proxy.ts";
import {
  adjust,
  API_KEY,
  assertNoSecretsInLogs,
  assertStatus,
  call,
  type CallResult,
  countBy,
  createProduct,
  createStock,
  createStores,
  errorDocumentProblem,
  figures,
  ignore,
  inventoryEnv,
  product,
  productsEnv,
  type RunningService,
  show,
  skipStep,
  sleep,
  startService,
  stopAll,
  viaPort,
} from "./support.ts";

/**
 * Case 3: each dependency behind a fault proxy, under a steady modest load, through three faults
 * (refuse, black hole, cut), each followed by the dependency's return without any restart.
 */

const FAULTS = ["refuse", "blackhole", "cut"] as const;
type Fault = typeof FAULTS[number];
/**
 * How long each fault lasts. The black hole outlasts the latency budget, so a request that only
 * waits for the partition to heal shows up as over budget instead of passing by luck.
 */
const FAULT_MS: Record<Fault, number> = {
  refuse: 3000,
  blackhole: 11_000,
  cut: 3000,
  // For experiments: RELIABILITY_FAULT_MS=refuse=10000,cut=5000
  ...Object.fromEntries(
    (Deno.env.get("RELIABILITY_FAULT_MS") ?? "").split(",").filter(Boolean).map((kv) => {
      const [k, v] = kv.split("=");
      return [k, Number(v)];
    }),
  ),
};
const DEBUG = Boolean(Deno.env.get("RELIABILITY_DEBUG"));
/** No request may take longer. */
const LATENCY_BUDGET_MS = 10_000;
/** The service must answer 2xx again this soon after the dependency returns. */
const RECOVERY_BUDGET_MS = 5000;
/** After recovery, every dependent request must succeed for this long. */
const STEADY_MS = 1000;
/** Pause between two requests of one load worker. */
const PACE_MS = 40;

interface Sample extends CallResult {
  op: string;
  /** Whether the request needs the dependency under test. */
  needsDep: boolean;
  worker: number;
}

interface ReadyProbe {
  started: number;
  status: number;
  ms: number;
  dependencies: Record<string, string>;
  state?: string;
}

interface PhaseRecord {
  fault: Fault;
  from: number;
  restored: number;
  recoveredAt?: number;
  readyAgainAt?: number;
}

interface ScenarioOptions {
  name: string;
  proxy: FaultProxy;
  /** The service whose readiness and answers are watched. */
  service: RunningService;
  /** The key of the dependency in the readiness document. */
  dependency: string;
  workers: number;
  op: (worker: number, i: number) => Promise<Sample>;
  /** What readiness must say during the outage. */
  readyDuringOutage: (probe: ReadyProbe) => boolean;
  /** A sample showing the dependency works again. */
  recovered: (sample: Sample) => boolean;
  /** Whether a sample's status is acceptable at all; by default 2xx or a 502/503/504 document. */
  acceptable?: (sample: Sample) => boolean;
  /** Runs inside each fault (after it started) and after its recovery, for targeted checks. */
  duringFault?: (fault: Fault) => Promise<void>;
  afterRecovery?: (fault: Fault) => Promise<void>;
}

function defaultAcceptable(s: Sample): boolean {
  if (s.status >= 200 && s.status < 300) return true;
  return s.needsDep && [502, 503, 504].includes(s.status) && errorDocumentProblem(s) === null;
}

async function probeReady(base: string): Promise<ReadyProbe> {
  const r = await call(base, "/health/ready", { key: null, timeoutMs: 15_000 });
  return {
    started: r.started,
    status: r.status,
    ms: r.ms,
    dependencies: r.doc?.meta?.dependencies ?? {},
    state: r.doc?.meta?.status,
  };
}

async function runScenario(options: ScenarioOptions) {
  const { proxy, service } = options;
  const samples: Sample[] = [];
  const probes: ReadyProbe[] = [];
  const phases: PhaseRecord[] = [];
  let running = true;
  const load = Array.from({ length: options.workers }, async (_, w) => {
    for (let i = 0; running && i < 5000; i++) {
      samples.push(await options.op(w, i));
      await sleep(PACE_MS);
    }
  });
  // Readiness is probed every 300 ms without waiting for the previous probe (a probe of a
  // black-holed dependency takes the check's whole timeout), at most 8 at a time.
  let probing = true;
  const prober = (async () => {
    const pending = new Set<Promise<void>>();
    while (probing) {
      if (pending.size < 8) {
        const p: Promise<void> = probeReady(service.url).then((probe) => {
          probes.push(probe);
          pending.delete(p);
        });
        pending.add(p);
      }
      await sleep(300);
    }
    await Promise.all(pending);
  })();

  const waitFor = async (predicate: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!predicate() && Date.now() < deadline) await sleep(25);
  };
  const readyAgain = (phase: PhaseRecord) => (p: ReadyProbe) =>
    p.started >= phase.restored && p.status === 200 &&
    p.dependencies[options.dependency] === "up";

  try {
    await sleep(500);
    for (const fault of FAULTS) {
      const phase: PhaseRecord = { fault, from: Date.now(), restored: 0 };
      phases.push(phase);
      proxy.setMode(fault);
      const during = options.duringFault?.(fault);
      await sleep(FAULT_MS[fault]);
      await during;
      proxy.setMode("pass");
      phase.restored = Date.now();
      const isBack = (s: Sample) => s.started >= phase.restored && options.recovered(s);
      await waitFor(() => samples.some(isBack), RECOVERY_BUDGET_MS + 2000);
      phase.recoveredAt = samples.filter(isBack).map((s) => s.ended).sort((a, b) => a - b)[0];
      await waitFor(() => probes.some(readyAgain(phase)), RECOVERY_BUDGET_MS + 2000);
      phase.readyAgainAt = probes.filter(readyAgain(phase)).map((p) => p.started + p.ms)
        .sort((a, b) => a - b)[0];
      await sleep(STEADY_MS);
      await options.afterRecovery?.(fault);
    }
  } finally {
    proxy.setMode("pass");
    running = false;
    probing = false;
    await Promise.all(load);
    await prober;
  }
  const end = Date.now();

  // ---- analysis
  const phaseOf = (t: number) => phases.find((p) => t >= p.from && t < p.restored)?.fault;
  const failed = (s: Sample) => s.status < 200 || s.status >= 300;
  /**
   * Dependent requests that ran entirely between the dependency's return and the next fault (one
   * still running when the next fault began belongs to that fault).
   */
  const afterRestore = (p: PhaseRecord) => {
    const next = phases[phases.indexOf(p) + 1]?.from ?? end;
    return samples.filter((s) => s.needsDep && s.started >= p.restored && s.ended < next);
  };
  const maxMs = Math.max(...samples.map((s) => s.ms));
  const statuses = countBy(samples, (s) => s.status);
  const byFault = Object.fromEntries(FAULTS.map((f) => [
    f,
    countBy(samples.filter((s) => phaseOf(s.started) === f), (s) => s.status),
  ]));
  const since = (p: PhaseRecord, t: number | undefined) =>
    t === undefined ? "never" : Math.round(t - p.restored);
  const lastError = (p: PhaseRecord) =>
    afterRestore(p).filter(failed).map((s) => s.ended).sort((a, b) => b - a)[0];
  // Probes that started inside the fault, once the service had half a second to notice.
  const inside = (p: PhaseRecord) =>
    probes.filter((q) => q.started >= p.from + 500 && q.started < p.restored);

  // The services' own account of unexpected failures: their ERROR lines for our bad answers.
  const bad = samples.filter((s) => !(options.acceptable ?? defaultAcceptable)(s));
  const badIds = new Set(bad.map((s) => s.headers.get("x-request-id")));
  const causes = countBy(
    service.logs().filter((l) =>
      l.level === "ERROR" && badIds.has(l.request_id as string) && l.err !== undefined
    ),
    (l) => {
      const err = l.err as { type?: string; message?: string };
      return `${err.type}: ${String(err.message).slice(0, 120)}`;
    },
  );

  figures(`3 faults ${options.name}`, {
    requests: samples.length,
    statuses,
    by_fault: byFault,
    max_latency_ms: Math.round(maxMs),
    recovery_ms: Object.fromEntries(phases.map((p) => [p.fault, since(p, p.recoveredAt)])),
    last_error_after_restore_ms: Object.fromEntries(
      phases.map((p) => [p.fault, lastError(p) === undefined ? "none" : since(p, lastError(p))]),
    ),
    ready_again_ms: Object.fromEntries(phases.map((p) => [p.fault, since(p, p.readyAgainAt)])),
    ready_during: Object.fromEntries(phases.map((p) => [
      p.fault,
      countBy(inside(p), (q) => `${q.status}:${q.dependencies[options.dependency]}`),
    ])),
    proxy: proxy.stats,
    ...(bad.length > 0 ? { unexpected_causes: causes } : {}),
  });
  if (DEBUG) {
    const t0 = phases[0]!.from - 500;
    for (const p of phases) console.log(`  ${p.fault}: ${p.from - t0}..${p.restored - t0} ms`);
    for (const s of [...samples].sort((a, b) => a.started - b.started)) {
      console.log(`  ${s.started - t0} +${Math.round(s.ms)} w${s.worker} ${s.op} ${s.status}`);
    }
    for (const q of [...probes].sort((a, b) => a.started - b.started)) {
      console.log(
        `  ready ${q.started - t0} +${Math.round(q.ms)} ${q.status} ${
          JSON.stringify(q.dependencies)
        }`,
      );
    }
  }

  const problems: string[] = [];
  if (bad.length > 0) {
    problems.push(
      `${bad.length} unacceptable answers (${
        JSON.stringify(countBy(bad, (s) => `${s.op} ${s.status}`))
      }), e.g. ${bad.slice(0, 2).map(show).join(" || ")}`,
    );
  }
  const slow = samples.filter((s) => s.ms > LATENCY_BUDGET_MS);
  if (slow.length > 0) {
    problems.push(
      `${slow.length} requests over ${LATENCY_BUDGET_MS} ms (max ${Math.round(maxMs)} ms), e.g. ${
        slow.slice(0, 2).map(show).join(" || ")
      }`,
    );
  }
  for (const p of phases) {
    if (p.recoveredAt === undefined || p.recoveredAt - p.restored > RECOVERY_BUDGET_MS) {
      problems.push(
        `after ${p.fault}: no success within ${RECOVERY_BUDGET_MS} ms of the dependency's return ` +
          `(first after ${since(p, p.recoveredAt)} ms)`,
      );
    }
    // Recovered means: no error answers later than the budget after the dependency returned …
    const late = afterRestore(p).filter((s) =>
      failed(s) && s.ended > p.restored + RECOVERY_BUDGET_MS
    );
    if (late.length > 0) {
      problems.push(
        `after ${p.fault}: ${late.length} requests started after the dependency returned still ` +
          `failed more than ${RECOVERY_BUDGET_MS} ms later, e.g. ${show(late[0]!)} ended ${
            late[0]!.ended - p.restored
          } ms after the return`,
      );
    }
    // … and none at all once one had succeeded.
    if (p.recoveredAt !== undefined) {
      const flapping = afterRestore(p).filter((s) => s.started >= p.recoveredAt! && failed(s));
      if (flapping.length > 0) {
        problems.push(
          `after ${p.fault}: ${flapping.length} failures after the first success, e.g. ${
            show(flapping[0]!)
          }`,
        );
      }
    }
    if (p.readyAgainAt === undefined || p.readyAgainAt - p.restored > RECOVERY_BUDGET_MS) {
      problems.push(
        `after ${p.fault}: /health/ready not 200 with ${options.dependency} up within ` +
          `${RECOVERY_BUDGET_MS} ms (${since(p, p.readyAgainAt)})`,
      );
    }
    if (!inside(p).some(options.readyDuringOutage)) {
      problems.push(
        `during ${p.fault}: /health/ready did not report the ${options.dependency} outage: ${
          JSON.stringify(countBy(inside(p), (q) => `${q.status}:${JSON.stringify(q.dependencies)}`))
        }`,
      );
    }
  }
  return { samples, problems, phases };
}

/** The outage is reported: 503 with the dependency down. */
const outage = (dependency: string) => (p: ReadyProbe) =>
  p.status === 503 && p.dependencies[dependency] === "down";

function sample(
  op: string,
  needsDep: boolean,
  worker: number,
  r: Promise<CallResult>,
): Promise<Sample> {
  return r.then((res) => ({ ...res, op, needsDep, worker }));
}

Deno.test({
  name: "reliability: dependency faults (refuse, black hole, cut) under load",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stores = await createStores("fault");
    const pgProxy = new FaultProxy({ upstreamHost: stores.pgHost, upstreamPort: stores.pgPort });
    const cacheProxy = new FaultProxy({
      upstreamHost: stores.upstashHost,
      upstreamPort: stores.upstashPort,
    });
    const mongoProxy = new FaultProxy({
      upstreamHost: stores.mongoHost,
      upstreamPort: stores.mongoPort,
    });
    let productsProxy: FaultProxy | undefined;
    let products: RunningService | undefined;
    let inventory: RunningService | undefined;
    try {
      products = await startService(
        "products",
        productsEnv(stores, {
          DATABASE_URL: viaPort(stores.databaseUrl, pgProxy.port),
          UPSTASH_REDIS_REST_URL: viaPort(stores.upstashUrl, cacheProxy.port),
        }),
      );
      productsProxy = new FaultProxy({ upstreamPort: products.port });
      const mongoUrl = new URL(viaPort(stores.mongoUrl, mongoProxy.port));
      // One seed and no replica set: the driver must not discover the real address around us.
      mongoUrl.searchParams.set("directConnection", "true");
      inventory = await startService(
        "inventory",
        inventoryEnv(stores, viaPort(products.url, productsProxy.port), {
          MONGODB_URL: mongoUrl.href,
        }),
      );
      const P = products.url;
      const I = inventory.url;

      // ------------------------------------------------------------------ products ↔ PostgreSQL
      await t.step({
        name: "products ↔ PostgreSQL",
        ignore: skipStep("products ↔ PostgreSQL"),
        fn: async () => {
          const seeded = await Promise.all([1, 2, 3].map((n) => createProduct(P, `seed ${n}`)));
          const created = new Map<string, number>(); // id → status of its POST
          const { samples, problems } = await runScenario({
            name: "products↔postgresql",
            proxy: pgProxy,
            service: products!,
            dependency: "database",
            workers: 4,
            op: (w, i) => {
              switch (i % 3) {
                case 0: {
                  const id = crypto.randomUUID();
                  return sample(
                    "create",
                    true,
                    w,
                    call(P, "/products", { method: "POST", body: product(`pg ${w}-${i}`, 5, id) }),
                  ).then((s) => {
                    created.set(id, s.status);
                    return s;
                  });
                }
                case 1:
                  return sample(
                    "list",
                    true,
                    w,
                    call(P, "/products?page[size]=5&sort=-created_at"),
                  );
                default:
                  return sample("read", true, w, call(P, `/products/${seeded[i % 3]}`));
              }
            },
            readyDuringOutage: outage("database"),
            recovered: (s) => (s.op === "create" || s.op === "list") && s.status < 300,
          });
          const acked = [...created].filter(([, status]) => status === 201).map(([id]) => id);
          const unacked = [...created].filter(([, status]) => status !== 201).map(([id]) => id);
          const missing: string[] = [];
          for (const id of acked) {
            const r = await call(P, `/products/${id}`);
            if (r.status !== 200) missing.push(show(r));
          }
          const rows = await stores.sql`select id from products where id = any(${unacked})`;
          const stored = new Set(rows.map((r) => r.id as string));
          // A 503 says nothing was applied; only a 504 (outcome unknown) may have been.
          const refusedButStored = unacked.filter((id) =>
            created.get(id) === 503 && stored.has(id)
          );
          const refusalsWithoutRetryAfter = samples.filter((s) =>
            s.status === 503 && !/^\d+$/.test(s.headers.get("retry-after") ?? "")
          );
          figures("3 faults products↔postgresql writes", {
            creates: created.size,
            acknowledged: acked.length,
            acknowledged_missing: missing.length,
            unacknowledged: countBy(unacked, (id) => created.get(id)!),
            unacknowledged_but_stored: countBy([...stored], (id) => created.get(id)!),
          });
          if (missing.length > 0) {
            problems.push(`${missing.length} acknowledged products missing: ${missing[0]}`);
          }
          if (refusedButStored.length > 0) {
            problems.push(`${refusedButStored.length} creates answered 503 were stored`);
          }
          if (refusalsWithoutRetryAfter.length > 0) {
            problems.push(`${refusalsWithoutRetryAfter.length} 503s without Retry-After`);
          }
          assert.ok(acked.length > 0 && samples.length > 0);
          assert.deepEqual(problems, []);
        },
      });

      // ---------------------------------------------------------- products ↔ Upstash (the cache)
      await t.step({
        name: "products ↔ Upstash cache",
        ignore: skipStep("products ↔ Upstash cache"),
        fn: async () => {
          const workers = 4;
          const owned = await Promise.all(
            Array.from({ length: workers * 2 }, (_, n) => createProduct(P, `cached ${n}`, 1)),
          );
          const lastPrice = new Map<string, number>(owned.map((id) => [id, 1]));
          // One product per fault: cached before it, changed during it, read after it.
          const witnesses = new Map<Fault, { id: string; price?: number; seen?: CallResult }>();
          for (const fault of FAULTS) {
            const id = await createProduct(P, `witness ${fault}`, 2);
            witnesses.set(fault, { id });
            await call(P, `/products/${id}`);
            const cached = await call(P, `/products/${id}`);
            assert.equal(cached.headers.get("x-cache"), "HIT", show(cached));
          }
          const { samples, problems } = await runScenario({
            name: "products↔cache",
            proxy: cacheProxy,
            service: products!,
            dependency: "cache",
            workers,
            op: (w, i) => {
              const mine = owned[w * 2 + (i % 2)]!;
              if (i % 4 === 3) {
                const price = 100 + i;
                return sample(
                  "update",
                  true,
                  w,
                  call(P, `/products/${mine}`, {
                    method: "PATCH",
                    body: { data: { type: "products", id: mine, attributes: { price } } },
                  }),
                ).then((s) => {
                  if (s.status === 200) lastPrice.set(mine, price);
                  return s;
                });
              }
              if (i % 8 === 5) {
                return sample(
                  "create",
                  true,
                  w,
                  call(P, "/products", { method: "POST", body: product(`c ${w}-${i}`) }),
                );
              }
              return sample("read", true, w, call(P, `/products/${owned[(w + i) % owned.length]}`));
            },
            // Only success: a cache outage is never an error.
            acceptable: (s) => s.status >= 200 && s.status < 300,
            readyDuringOutage: (p) => p.status === 200 && p.dependencies.cache === "down",
            recovered: (s) => s.op === "read" && s.headers.get("x-cache") === "HIT",
            async duringFault(fault) {
              const w = witnesses.get(fault)!;
              // It was read twice before (cached); now it changes while the cache is away.
              w.price = 300 + FAULTS.indexOf(fault);
              await sleep(500);
              const r = await call(P, `/products/${w.id}`, {
                method: "PATCH",
                body: { data: { type: "products", id: w.id, attributes: { price: w.price } } },
              });
              assertStatus(r, 200);
            },
            async afterRecovery(fault) {
              const w = witnesses.get(fault)!;
              w.seen = await call(P, `/products/${w.id}`);
            },
          });
          const stale: string[] = [];
          for (const [fault, w] of witnesses) {
            const price = w.seen?.doc?.data?.attributes?.price;
            if (price !== w.price) {
              stale.push(
                `${fault}: read ${price} (X-Cache ${w.seen?.headers.get("x-cache")}) after ` +
                  `an acknowledged change to ${w.price}`,
              );
            }
          }
          const finalStale: string[] = [];
          for (const [id, price] of lastPrice) {
            const r = await call(P, `/products/${id}`);
            if (r.doc?.data?.attributes?.price !== price) {
              finalStale.push(`${id}: ${r.doc?.data?.attributes?.price} ≠ ${price}`);
            }
          }
          figures("3 faults products↔cache writes", {
            updates_acknowledged: samples.filter((s) => s.op === "update" && s.status === 200)
              .length,
            stale_after_fault: stale.length,
            stale_detail: stale,
            stale_at_end: finalStale.length,
            hits: samples.filter((s) => s.headers.get("x-cache") === "HIT").length,
          });
          if (stale.length > 0) {
            problems.push(`stale reads after the cache came back: ${stale.join("; ")}`);
          }
          if (finalStale.length > 0) problems.push(`stale at the end: ${finalStale.join("; ")}`);
          assert.deepEqual(problems, []);
        },
      });

      // ---------------------------------------------------------------- inventory ↔ MongoDB
      await t.step({
        name: "inventory ↔ MongoDB",
        ignore: skipStep("inventory ↔ MongoDB"),
        fn: async () => {
          const workers = 4;
          const ids = await Promise.all(
            Array.from({ length: workers }, (_, n) => createProduct(P, `stock ${n}`)),
          );
          for (const id of ids) await createStock(I, id, 1000);
          const acked = new Map<string, number>(ids.map((id) => [id, 0]));
          const unacked = new Map<string, number>(ids.map((id) => [id, 0]));
          // Every adjustment carries its own Idempotency-Key, as a careful client's would.
          const failedKeys: { id: string; key: string; status: number }[] = [];
          const { samples, problems } = await runScenario({
            name: "inventory↔mongodb",
            proxy: mongoProxy,
            service: inventory!,
            dependency: "database",
            workers,
            op: (w, i) => {
              const mine = ids[w]!;
              switch (i % 3) {
                case 0: {
                  const key = crypto.randomUUID();
                  return sample(
                    "adjust",
                    true,
                    w,
                    call(I, `/inventory/${mine}`, {
                      method: "PATCH",
                      body: adjust(mine, 1),
                      headers: { "Idempotency-Key": key },
                    }),
                  ).then((s) => {
                    const book = s.status === 200 ? acked : unacked;
                    book.set(mine, book.get(mine)! + 1);
                    if (s.status !== 200) failedKeys.push({ id: mine, key, status: s.status });
                    return s;
                  });
                }
                case 1:
                  return sample("read", true, w, call(I, `/inventory/${ids[(w + i) % workers]}`));
                default:
                  return sample(
                    "list",
                    true,
                    w,
                    call(I, "/inventory?page[size]=10&sort=-quantity"),
                  );
              }
            },
            readyDuringOutage: outage("database"),
            recovered: (s) => s.op === "adjust" && s.status === 200,
          });
          const quantities = async () => {
            const out = new Map<string, number>();
            for (const id of ids) {
              out.set(id, (await call(I, `/inventory/${id}`)).doc?.data?.attributes?.quantity);
            }
            return out;
          };
          // Without retries: every acknowledged adjustment is there; a failed one may be too.
          // A 503 says nothing was applied: only the failures that were not 503 (a 504, outcome
          // unknown) may have been.
          const lost: string[] = [];
          let appliedUnacked = 0;
          for (const [id, q] of await quantities()) {
            const low = 1000 + acked.get(id)!;
            const high = low +
              failedKeys.filter((f) => f.id === id && f.status !== 503).length;
            if (typeof q !== "number" || q < low || q > high) {
              lost.push(
                `${id}: quantity ${q}, acknowledged says ${low}..${high} (503s apply nothing)`,
              );
            } else appliedUnacked += q - low;
          }
          // With retries: the client retries each failed adjustment once, with its key, now that
          // the store is back. Each key must then be applied exactly once.
          const retries = await Promise.all(
            failedKeys.map(({ id, key }) =>
              call(I, `/inventory/${id}`, {
                method: "PATCH",
                body: adjust(id, 1),
                headers: { "Idempotency-Key": key },
                timeoutMs: 20_000,
              })
            ),
          );
          const final = await quantities();
          const stuck = retries.filter((r) => r.status !== 200);
          const wrong: string[] = [];
          for (const id of ids) {
            const keysApplied = acked.get(id)! +
              failedKeys.filter((f, i) => f.id === id && retries[i]!.status === 200).length;
            if (final.get(id) !== 1000 + keysApplied) {
              wrong.push(
                `${id}: quantity ${final.get(id)} after retries, ${keysApplied} keys acknowledged`,
              );
            }
          }
          figures("3 faults inventory↔mongodb writes", {
            adjustments_acknowledged: [...acked.values()].reduce((a, b) => a + b, 0),
            adjustments_failed: countBy(failedKeys, (f) => f.status),
            failed_but_applied: appliedUnacked,
            inconsistent: lost.length,
            retried_with_key: countBy(
              retries,
              (r) => `${r.status}${r.headers.get("idempotent-replayed") ? " replayed" : ""}`,
            ),
            not_exactly_once: wrong.length,
          });
          if (lost.length > 0) problems.push(`quantities disagree: ${lost.join("; ")}`);
          if (stuck.length > 0) {
            problems.push(
              `${stuck.length}/${retries.length} retries with the same Idempotency-Key failed ` +
                `after the store was back, e.g. ${show(stuck[0]!)}`,
            );
          }
          if (wrong.length > 0) {
            problems.push(`not applied exactly once per Idempotency-Key: ${wrong.join("; ")}`);
          }
          assert.ok(samples.length > 0);
          assert.deepEqual(problems, []);
        },
      });

      // -------------------------------------------------------- inventory ↔ products service
      await t.step({
        name: "inventory ↔ products",
        ignore: skipStep("inventory ↔ products"),
        fn: async () => {
          const workers = 3;
          const perWorker = 40;
          const ids = await Promise.all(
            Array.from({ length: workers * perWorker }, (_, n) => createProduct(P, `cat ${n}`)),
          );
          /** What the answers so far say about each product's stock record. */
          const exists = new Map<string, boolean>(ids.map((id) => [id, false]));
          const { samples, problems } = await runScenario({
            name: "inventory↔products",
            proxy: productsProxy!,
            service: inventory!,
            dependency: "products",
            workers,
            op: (w, i) => {
              const id = ids[w * perWorker + (Math.floor(i / 3) % perWorker)]!;
              if (!exists.get(id)) {
                return sample(
                  "create",
                  true,
                  w,
                  call(I, "/inventory", {
                    method: "POST",
                    body: {
                      data: { type: "inventory", attributes: { product_id: id, quantity: 5 } },
                    },
                  }),
                ).then((s) => {
                  if (s.status === 201) exists.set(id, true);
                  return s;
                });
              }
              switch (i % 3) {
                case 0:
                  return sample("include", true, w, call(I, `/inventory/${id}?include=product`));
                case 1:
                  return sample("read", false, w, call(I, `/inventory/${id}`));
                default:
                  return sample(
                    "delete",
                    false,
                    w,
                    call(I, `/inventory/${id}`, { method: "DELETE" }),
                  )
                    .then((s) => {
                      if (s.status === 204) exists.set(id, false);
                      return s;
                    });
              }
            },
            // Creating stock needs products; inventory may keep serving (200 "degraded") or leave
            // rotation (503), but it must name products as down.
            readyDuringOutage: (p) =>
              p.dependencies.products === "down" &&
              (p.status === 503 || (p.status === 200 && p.state === "degraded")),
            recovered: (s) => (s.op === "create" || s.op === "include") && s.status < 300,
          });
          const wrong: string[] = [];
          for (const id of ids) {
            const r = await call(I, `/inventory/${id}`);
            if ((r.status === 200) !== exists.get(id)) {
              wrong.push(
                `${id}: ${r.status}, answers said ${exists.get(id) ? "created" : "absent"}`,
              );
            }
          }
          const refusedCreates = samples.filter((s) => s.op === "create" && s.status >= 500);
          figures("3 faults inventory↔products writes", {
            creates_acknowledged: samples.filter((s) =>
              s.op === "create" && s.status === 201
            ).length,
            creates_refused_5xx: refusedCreates.length,
            deletes: samples.filter((s) => s.op === "delete" && s.status === 204).length,
            records_disagreeing: wrong.length,
          });
          if (wrong.length > 0) problems.push(`records disagree with answers: ${wrong[0]}`);
          assert.ok(samples.length > 0);
          assert.deepEqual(problems, []);
        },
      });

      await assertNoSecretsInLogs([products, inventory], [API_KEY]);
    } finally {
      for (const p of [pgProxy, cacheProxy, mongoProxy, productsProxy]) p?.setMode("pass");
      try {
        await stopAll([inventory, products]);
      } finally {
        for (const p of [pgProxy, cacheProxy, mongoProxy, productsProxy]) await p?.close();
        await stores.drop();
      }
    }
  },
});
