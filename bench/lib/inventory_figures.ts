/**
 * The inventory figures, on one inventory process (MongoDB wire: FerretDB) with its default
 * settings, calling the products process run.ts started (PostgreSQL + Upstash):
 *
 *   P3        unkeyed purchases (PATCH −1) on one product vs bench/ceilings/mongo_patch.ts.
 *   P3k       the same with a distinct Idempotency-Key per request, on another product, vs the same
 *             ceiling.
 *   P4        POST /inventory, a fresh product every request, vs bench/ceilings/inventory_post.ts
 *             (fetch the product from the same products process, then insertOne).
 *   Overload  purchases at BENCH_OVERLOAD_FACTOR (10) × the capacity a closed loop just measured,
 *             sent open-loop by bench/lib/open_loop.ts: goodput, refusals and their latencies.
 *
 * Also the P6 rows "inventory RSS idle" and "inventory RSS after P3".
 */
import {
  CONFIG,
  localListener,
  type Proc,
  REPO,
  rssMb,
  sleep,
  startDeno,
  trackHelper,
} from "./procs.ts";
import { uniqueHeaderScript, walkScript, type WrkResult } from "./wrk.ts";
import { fmt, loadAverage, median } from "./report.ts";
import type { BenchStores } from "./stores.ts";
import type { OpenLoopResult } from "./open_loop.ts";
import {
  alternate,
  api,
  type ApiAnswer,
  type Context,
  cpuPids,
  createProduct,
  details,
  expectStatus,
  JSONAPI,
  KEY,
  latencyRow,
  load,
  type LoadTarget,
  log,
  type Measured,
  notes,
  type Pair,
  refRss,
  rows,
  rssRow,
  S,
  settledRss,
  staticTarget,
  throughputRow,
  tools,
  treeTicks,
  want,
} from "./harness.ts";

const FERRET = "MongoDB wire (FerretDB)";
const WRITE_HEADERS = { ...KEY, "Content-Type": JSONAPI };

/** The inventory process for every inventory figure; RSS idle first (P6), stopped at the end. */
export async function runInventoryFigures(ctx: Context, productsReal: Proc): Promise<void> {
  const inventory = await startDeno({
    name: "inventory-real",
    script: "inventory/main.ts",
    env: ctx.realEnv.inventory(productsReal.url),
    cwd: ctx.realDir,
  });
  try {
    const idle = await settledRss(inventory);
    rssRow("inventory RSS idle", FERRET, idle, refRss(ctx), true);
    if (want("P3") || want("P3K")) await purchases(ctx, productsReal, inventory);
    // Overload before P4: P4 leaves thousands of stock records, and FerretDB applies every update
    // by reading the whole collection (updateOne by _id: 6 ms at 500 records, 15 ms at 5,000), so
    // after it purchases crawled (2 req/s) and Overload measured the test store, not inventory.
    if (want("OVERLOAD")) await runOverload(productsReal, inventory);
    if (want("P4")) await runP4(ctx, productsReal, inventory);
  } finally {
    await inventory.stop();
  }
}

/**
 * Store calls in flight or waiting in inventory (the `store_calls` gauge on /metrics): after a run
 * that overloaded a slow store, the figure that follows waits for them to end (at most 60 s).
 */
async function storeQuiet(inventory: Proc, maxMs = 60_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  for (;;) {
    const text = await (await fetch(`${inventory.url}/metrics`, { headers: KEY })).text();
    const busy = text.split("\n").filter((l) => l.startsWith("store_calls{"))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
    if (busy === 0) return;
    if (performance.now() > deadline) {
      log(`inventory still has ${busy} store calls in flight or waiting; going on`);
      return;
    }
    await sleep(500);
  }
}

/**
 * A set-up request that must succeed: a 503 (refused, nothing applied: the store is still busy
 * with an earlier run's backlog) is tried again for up to 60 s. `call` builds a fresh request.
 */
async function setUp(what: string, expected: number, call: () => Promise<ApiAnswer>) {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const answer = await call();
    if (answer.status !== 503 || performance.now() > deadline) {
      expectStatus(answer, expected, what);
      return answer;
    }
    await sleep(1000);
  }
}

/** A product with `quantity` in stock, for purchases; returns its id. */
async function stockedProduct(
  productsReal: Proc,
  inventory: Proc,
  name: string,
  quantity: number,
): Promise<string> {
  const id = await createProduct(productsReal, name);
  await storeQuiet(inventory);
  await setUp(`POST /inventory (${name})`, 201, () =>
    api(inventory.url, "/inventory", "POST", {
      data: { type: "inventory", attributes: { product_id: id, quantity } },
    }));
  return id;
}

const purchaseBody = (id: string) =>
  JSON.stringify({ data: { type: "inventory", id, attributes: { quantity_delta: -1 } } });

// ---------------------------------------------------------------------------------------------
// P3 and P3k: purchases against the bare conditional update

async function purchases(ctx: Context, productsReal: Proc, inventory: Proc) {
  const ceiling = await startDeno({
    name: "ceiling-mongo",
    script: "bench/ceilings/mongo_patch.ts",
    env: { MONGODB_URL: ctx.realEnv.inventory("").MONGODB_URL!, MONGODB_DB: ctx.stores.mongoDb },
    cwd: ctx.realDir,
  });
  // The store's own CPU per request, beside the two sides', when it runs on this machine: with
  // writes serialized, the test server is the limit of both, so its work per request sets the ratio.
  const port = Number(new URL(ctx.realEnv.inventory("").MONGODB_URL!).port || 27017);
  const server = localListener(STORE_SERVER, port);
  try {
    if (want("P3")) await runP3(productsReal, inventory, ceiling, server);
    if (want("P3K")) await runP3k(productsReal, inventory, ceiling, server);
  } finally {
    await ceiling.stop();
  }
}

const STORE_SERVER = "MongoDB-wire server";

/** A details line: the store server's CPU per request on each side (medians), when it was read. */
function storeCpuNote(fig: string, server: Proc | null, pairs: Pair[]) {
  if (!server) return;
  const us = (side: "service" | "ceiling") =>
    median(pairs.map((p) => p[side].othersUs[STORE_SERVER] ?? NaN));
  const [service, ceiling] = [us("service"), us("ceiling")];
  details.push(
    `- ${fig} CPU per request in the ${STORE_SERVER} (pid ${server.pid}), medians: for the ` +
      `service ${fmt.us(service)}, for the ceiling ${fmt.us(ceiling)} ` +
      `(${(service / ceiling).toFixed(2)}×)`,
  );
}

async function ceilingCheck(ceiling: Proc, id: string, body: string, fig: string) {
  const c = await fetch(`${ceiling.url}/inventory/${id}`, {
    method: "PATCH",
    headers: WRITE_HEADERS,
    body,
  });
  await c.body?.cancel();
  if (c.status !== 200) throw new Error(`${fig} ceiling answered ${c.status}`);
}

async function stockNote(fig: string, inventory: Proc, id: string, pairs: Pair[]) {
  const left = await api(inventory.url, `/inventory/${id}`);
  const sold = pairs.reduce((n, p) => n + p.service.requests + p.ceiling.requests, 0);
  notes.push(
    `${fig}: stock after the runs ${left.doc?.data?.attributes?.quantity} of 100,000,000 ` +
      `(at least ${sold.toLocaleString("en-US")} measured purchases, plus warm-ups).`,
  );
}

async function runP3(productsReal: Proc, inventory: Proc, ceiling: Proc, server: Proc | null) {
  log("P3: PATCH /inventory/{id} purchases under contention, inventory on FerretDB");
  const id = await stockedProduct(productsReal, inventory, "Bench contended product", 100_000_000);
  const body = purchaseBody(id);
  await setUp(
    "PATCH /inventory (P3 check)",
    200,
    () => api(inventory.url, `/inventory/${id}`, "PATCH", JSON.parse(body)),
  );
  await ceilingCheck(ceiling, id, body, "P3");
  const path = `/inventory/${id}`;
  const others = server ? [server] : [];
  const runs = await alternate(
    "P3",
    { ...staticTarget("inventory", inventory, path, "PATCH", WRITE_HEADERS, body), others },
    {
      ...staticTarget(
        "bare Deno.serve + findOneAndUpdate",
        ceiling,
        path,
        "PATCH",
        WRITE_HEADERS,
        body,
      ),
      others,
    },
  );
  throughputRow(
    "P3",
    `PATCH /inventory/{id} −1, ${S.connections} conns, one product`,
    FERRET,
    runs,
    0.7,
  );
  storeCpuNote("P3", server, runs.pairs);
  await stockNote("P3", inventory, id, runs.pairs);
  rssRow("inventory RSS after P3", FERRET, await rssMb(inventory.pid), "—", false);
}

/**
 * P3k: purchases each with an Idempotency-Key of its own (`<run prefix>-<wrk thread>-<n>`), so
 * every one is a first request: the key is looked up, claimed, recorded with the change and
 * completed with the answer. On a product of its own (the keys pile up in its `ops` list). The
 * ceiling gets the same requests and ignores the key: the bare conditional update, as in P3.
 */
async function runP3k(productsReal: Proc, inventory: Proc, ceiling: Proc, server: Proc | null) {
  log("P3k: keyed PATCH /inventory/{id} purchases (a new Idempotency-Key each), on FerretDB");
  const id = await stockedProduct(productsReal, inventory, "Bench keyed product", 100_000_000);
  const body = purchaseBody(id);
  const path = `/inventory/${id}`;
  const runPrefix = crypto.randomUUID().slice(0, 8);
  let runs = 0;
  const keyed = (name: string, proc: Proc): LoadTarget => ({
    name,
    url: `${proc.url}${path}`,
    proc,
    others: server ? [server] : [],
    connections: S.connections,
    script: () =>
      uniqueHeaderScript({
        method: "PATCH",
        headers: WRITE_HEADERS,
        body,
        header: "Idempotency-Key",
        prefix: `bench-${runPrefix}-${++runs}`,
      }),
  });
  // The key works: a first request applies, the same key again is a replay.
  let attempt = 0;
  const keyedPatch = (key: string) => () =>
    fetch(`${inventory.url}${path}`, {
      method: "PATCH",
      headers: { ...WRITE_HEADERS, "Idempotency-Key": key },
      body,
    }).then(async (res) => ({
      status: res.status,
      headers: res.headers,
      text: await res.text(),
      doc: null,
    }));
  let key = "";
  await setUp("keyed PATCH /inventory (P3k check)", 200, () => {
    key = `bench-${runPrefix}-check-${++attempt}`; // a refused key may still be held a moment
    return keyedPatch(key)();
  });
  const again = await setUp("keyed PATCH /inventory again (P3k check)", 200, keyedPatch(key));
  if (again.headers.get("idempotent-replayed") !== "true") {
    throw new Error("P3k check: the same Idempotency-Key again was not a replay");
  }
  await ceilingCheck(ceiling, id, body, "P3k");
  const result = await alternate(
    "P3k",
    keyed("inventory (keyed)", inventory),
    keyed("bare Deno.serve + findOneAndUpdate", ceiling),
  );
  throughputRow(
    "P3k",
    `PATCH /inventory/{id} −1 with a new Idempotency-Key each, ${S.connections} conns, ` +
      `one product`,
    FERRET,
    result,
    0.5,
  );
  storeCpuNote("P3k", server, result.pairs);
  await stockNote("P3k", inventory, id, result.pairs);
}

// ---------------------------------------------------------------------------------------------
// P4: creating stock, a fresh product every request

/**
 * Product ids never used before, seeded straight into the products table, handed to wrk a run at a
 * time (a file per run: wrk reads it all before starting). Every run of either side takes the next
 * ones, so both sides' requests are alike: a product not in the cache yet, no inventory record.
 */
class FreshIds {
  readonly #stores: BenchStores;
  #ids: string[] = [];
  #next = 0;
  /** Requests per second the next run is provisioned for: 2× the fastest run seen, at least. */
  #rate = 3000;
  #lastFile = 0;
  #files = 0;
  /** Requests that found no fresh id (their run outran its file: they reused ids, got 409s). */
  short = 0;

  constructor(stores: BenchStores) {
    this.#stores = stores;
  }

  async #ensure(count: number) {
    const left = this.#ids.length - this.#next;
    if (left >= count) return;
    const more = await this.#stores.seedProducts(Math.max(count - left, 20_000));
    for (const id of more) this.#ids.push(id);
  }

  /** One fresh id, for a check outside the runs. */
  async take(): Promise<string> {
    await this.#ensure(1);
    return this.#ids[this.#next++]!;
  }

  /** A file with enough fresh ids for a run of `durationS` seconds. */
  async file(durationS: number): Promise<string> {
    const count = Math.ceil(this.#rate * durationS) + 1000;
    await this.#ensure(count);
    const path = `${tools.scratch}/p4-ids-${++this.#files}.txt`;
    await Deno.writeTextFile(
      path,
      this.#ids.slice(this.#next, this.#next + count).join("\n") + "\n",
    );
    this.#lastFile = count;
    return path;
  }

  /** After the run: its ids are spent. */
  spent(r: WrkResult) {
    const used = r.used * S.threads;
    if (used > this.#lastFile) this.short += used - this.#lastFile;
    this.#next += Math.min(used, this.#lastFile);
    this.#rate = Math.max(this.#rate, 2 * r.rps);
  }
}

const postTemplate = JSON.stringify({
  data: { type: "inventory", attributes: { product_id: "{{id}}", quantity: 100 } },
});

async function runP4(ctx: Context, productsReal: Proc, inventory: Proc) {
  log("P4: POST /inventory (a fresh product each) vs bare Deno.serve: GET product + insertOne");
  const ids = new FreshIds(ctx.stores);
  const ceiling = await startDeno({
    name: "ceiling-inventory-post",
    script: "bench/ceilings/inventory_post.ts",
    env: {
      MONGODB_URL: ctx.realEnv.inventory("").MONGODB_URL!,
      MONGODB_DB: ctx.stores.mongoDb,
      PRODUCTS_SERVICE_URL: productsReal.url,
    },
    cwd: ctx.realDir,
  });
  try {
    await storeQuiet(inventory);
    for (const proc of [inventory, ceiling]) {
      const doc = JSON.parse(postTemplate.replace("{{id}}", await ids.take()));
      await setUp(
        `POST /inventory on ${proc.name} (P4 check)`,
        201,
        () => api(proc.url, "/inventory", "POST", doc),
      );
    }
    const post = (name: string, proc: Proc): LoadTarget => ({
      name,
      url: `${proc.url}/inventory`,
      proc,
      others: [productsReal], // each request asks products for the product
      connections: S.p4Connections,
      script: async (durationS) =>
        walkScript({
          method: "POST",
          path: "/inventory",
          headers: WRITE_HEADERS,
          bodyTemplate: postTemplate,
          idsFile: await ids.file(durationS),
          offset: 0,
          threads: S.threads,
        }),
      after: (r) => ids.spent(r),
    });
    const runs = await alternate(
      "P4",
      post("POST /inventory", inventory),
      post("bare Deno.serve + fetch + insertOne", ceiling),
    );
    const what = `POST /inventory, a fresh product each, ${S.p4Connections} conns`;
    const stores = `${FERRET}; products on PostgreSQL + Upstash`;
    throughputRow("P4", what, stores, runs, 0.7);
    latencyRow("P4", what, stores, runs, 2);
    const productsUs = (side: "service" | "ceiling") =>
      fmt.us(median(runs.pairs.map((p) => p[side].othersUs[productsReal.name] ?? NaN)));
    details.push(
      `- P4 CPU per request in products (its GET of the product, a cache miss: PostgreSQL, then ` +
        `the Upstash write), medians: for POST /inventory ${productsUs("service")}, for the ` +
        `ceiling ${productsUs("ceiling")}`,
    );
    if (ids.short) {
      notes.push(
        `P4: ${ids.short} requests outran their run's fresh product ids and reused one (409s).`,
      );
    }
  } finally {
    await ceiling.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Overload: purchases at 10× capacity, open loop

interface OverloadRound {
  capacity: Measured;
  /** The closed loop's 200s per second (a refusal in it is not capacity). */
  capacityRps: number;
  rate: number;
  burst: OpenLoopResult;
  /** Inventory's CPU µs per answered request over the burst (drain included). */
  cpuUs: number;
  ticks: number;
  /** Writes the inventory's admission gate shed meanwhile (store_admissions_total). */
  shed: number;
}

/** `store_admissions_total{…access="write",outcome="shed"}` from /metrics (0 if absent). */
async function shedWrites(inventory: Proc): Promise<number> {
  const res = await fetch(`${inventory.url}/metrics`, { headers: KEY });
  const text = await res.text();
  const line = text.split("\n").find((l) =>
    l.startsWith("store_admissions_total{") && l.includes('access="write"') &&
    l.includes('outcome="shed"')
  );
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

async function burst(
  inventory: Proc,
  path: string,
  body: string,
  rate: number,
): Promise<Omit<OverloadRound, "capacity" | "capacityRps" | "rate">> {
  const pids = cpuPids(inventory);
  const shedBefore = await shedWrites(inventory);
  const before = treeTicks(pids, inventory);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, `${REPO}bench/lib/open_loop.ts`],
    env: {
      OPEN_LOOP_URL: `${inventory.url}${path}`,
      OPEN_LOOP_METHOD: "PATCH",
      OPEN_LOOP_HEADERS: JSON.stringify(WRITE_HEADERS),
      OPEN_LOOP_BODY: body,
      OPEN_LOOP_RATE: String(Math.round(rate)),
      OPEN_LOOP_DURATION_MS: String(S.durationS * 1000),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  trackHelper(child);
  const out = await child.output();
  const after = treeTicks(pids, inventory);
  if (inventory.exited()) throw new Error("inventory died during the overload burst");
  const stdout = new TextDecoder().decode(out.stdout);
  const line = stdout.split("\n").find((l) => l.startsWith("OPEN_LOOP_JSON "));
  if (!out.success || !line) {
    throw new Error(
      `open_loop.ts failed (${out.code}):\n${stdout}\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  const result: OpenLoopResult = JSON.parse(line.slice("OPEN_LOOP_JSON ".length));
  const answered = result.ok.count + result.overloaded.count + result.unavailable.count +
    result.other.count;
  return {
    burst: result,
    ticks: after - before,
    cpuUs: ((after - before) * tools.usPerTick) / answered,
    shed: (await shedWrites(inventory)) - shedBefore,
  };
}

/**
 * Each round: the capacity for purchases (wrk, closed loop, BENCH_CONNECTIONS connections, a short
 * run after the warm-up), then a burst of BENCH_DURATION seconds at BENCH_OVERLOAD_FACTOR × that,
 * open loop, on inventory with its default admission settings (in flight: the pool, 20; queue 512;
 * wait at most 1 s). Report only.
 */
async function runOverload(productsReal: Proc, inventory: Proc) {
  const factor = S.overloadFactor;
  log(`Overload: purchases at ${factor}× capacity, open loop, default admission settings`);
  const id = await stockedProduct(productsReal, inventory, "Bench overload product", 1e9);
  const path = `/inventory/${id}`;
  const body = purchaseBody(id);
  const capacityTarget: LoadTarget = {
    ...staticTarget("inventory (closed loop)", inventory, path, "PATCH", WRITE_HEADERS, body),
    durationS: Math.min(S.durationS, 5),
  };
  const loadBefore = (await loadAverage()).split(" ")[0];
  const rounds: OverloadRound[] = [];
  for (let round = 1; round <= S.rounds; round++) {
    const capacity = await load(capacityTarget);
    const capacityRps = (capacity.requests - capacity.non2xx) / capacity.durationS;
    if (capacity.errors) {
      notes.push(
        `Overload round ${round}: the capacity run had ${capacity.errors} errors ` +
          `(${capacity.non2xx} non-2xx answers, left out of the capacity).`,
      );
    }
    if (!(capacityRps > 0)) {
      notes.push(`Overload round ${round}: the capacity run completed no purchase; no burst.`);
      continue;
    }
    const rate = factor * capacityRps;
    const r = { capacity, capacityRps, rate, ...await burst(inventory, path, body, rate) };
    rounds.push(r);
    const b = r.burst;
    log(
      `Overload round ${round}: capacity ${fmt.rps(capacityRps)} ${fmt.us(capacity.cpuUs)}; ` +
        `offered ${fmt.rps(b.sent / (b.windowMs / 1000))} (target ${fmt.rps(rate)}): ` +
        `goodput ${fmt.rps(goodput(b))}, ` +
        `${pct(b.overloaded.count, b.sent)} refused, p99 refused ${ms(b.overloaded.p99Ms)} ` +
        `ok ${ms(b.ok.p99Ms)}; ${fmt.us(r.cpuUs)} per answer`,
    );
    await storeQuiet(inventory); // the backlog the burst left in the store
    await sleep(1000);
  }
  const loadAfter = (await loadAverage()).split(" ")[0];
  overloadRows(rounds, `${loadBefore} → ${loadAfter}`);
}

/** 200s per second from the first request sent to the last answer (the drain included). */
const goodput = (b: OpenLoopResult) => b.ok.count / (b.elapsedMs / 1000);
const pct = (n: number, of: number) => `${of ? ((100 * n) / of).toFixed(1) : "n/a"} %`;
const ms = (n: number | null) => (n === null || !Number.isFinite(n) ? "n/a" : fmt.ms(n));

function overloadRows(rounds: OverloadRound[], loadAvg: string) {
  const factor = S.overloadFactor;
  const what = `purchases (PATCH −1) at ${factor}× capacity, open loop`;
  if (rounds.length === 0) {
    rows.push({
      figure: "Overload",
      what: `${what}: no round (see the notes)`,
      stores: FERRET,
      service: "n/a",
      ceiling: "—",
      ratio: "—",
      target: "—",
      met: "—",
    });
    return;
  }
  const offered = (r: OverloadRound) => r.burst.sent / (r.burst.windowMs / 1000);
  // Rounds where an outcome never happened (no percentile) are left out of its median.
  const med = (f: (r: OverloadRound) => number | null) =>
    median(rounds.map(f).filter((v): v is number => v !== null && Number.isFinite(v)));
  const capacityRef = `${fmt.rps(med((r) => r.capacityRps))} (capacity: closed loop, ` +
    `${S.connections} conns)`;
  const info = { figure: "Overload", stores: FERRET, target: "—", met: "—" };
  rows.push(
    {
      ...info,
      what: `${what}: goodput (200/s)`,
      service: fmt.rps(med((r) => goodput(r.burst))),
      ceiling: capacityRef,
      ratio: fmt.ratio(med((r) => goodput(r.burst) / r.capacityRps)),
    },
    {
      ...info,
      what: `${what}: refused (503 overloaded), share of requests sent`,
      service: `${(100 * med((r) => r.burst.overloaded.count / r.burst.sent)).toFixed(1)} % of ` +
        `${fmt.rps(med(offered))} offered`,
      ceiling: "—",
      ratio: "—",
    },
    {
      ...info,
      what: `${what}: p99 latency of refusals`,
      service: ms(med((r) => r.burst.overloaded.p99Ms)),
      ceiling: `${ms(med((r) => r.capacity.p99Ms))} (p99 at capacity, closed loop)`,
      ratio: "—",
    },
    {
      ...info,
      what: `${what}: p99 latency of successes`,
      service: ms(med((r) => r.burst.ok.p99Ms)),
      ceiling: `${ms(med((r) => r.capacity.p99Ms))} (p99 at capacity, closed loop)`,
      ratio: "—",
    },
    {
      ...info,
      what: `${what}: CPU per answered request`,
      service: fmt.us(med((r) => r.cpuUs)),
      ceiling: `${fmt.us(med((r) => r.capacity.cpuUs))} (at capacity, closed loop)`,
      ratio: fmt.ratio(med((r) => r.cpuUs / r.capacity.cpuUs)),
    },
  );
  details.push(
    `- Overload ${what} (${FERRET}; load ${loadAvg}; bursts of ${S.durationS} s sent by ` +
      `bench/lib/open_loop.ts; goodput = 200s / time from the first request sent to the last ` +
      `answer, the backlog's drain included): ` +
      rounds.map((r, i) => {
        const b = r.burst;
        const others = b.unavailable.count + b.other.count + b.networkErrors + b.unanswered;
        return `round ${i + 1} capacity ${Math.round(r.capacityRps)} req/s ` +
          `(${r.capacity.cpuUs.toFixed(1)} µs/req, p99 ${ms(r.capacity.p99Ms)}); offered ` +
          `${Math.round(offered(r))} req/s (target ${Math.round(r.rate)}; ${b.sent} sent, ` +
          `${b.notSent} not sent, sending up to ${b.maxLagMs.toFixed(0)} ms behind schedule); ` +
          `goodput ${Math.round(goodput(b))} req/s = ${fmt.ratio(goodput(b) / r.capacityRps)} ` +
          `of capacity (${b.ok.count} 200s in ${(b.elapsedMs / 1000).toFixed(1)} s; ` +
          `${Math.round(b.okInWindow / (b.windowMs / 1000))} req/s within the sending window); ` +
          `${b.overloaded.count} refused ` +
          `(${pct(b.overloaded.count, b.sent)}; inventory shed ${r.shed} writes); p50/p99 ` +
          `refused ${ms(b.overloaded.p50Ms)} / ${ms(b.overloaded.p99Ms)}, ok ` +
          `${ms(b.ok.p50Ms)} / ${ms(b.ok.p99Ms)} (max ${ms(b.ok.maxMs)}); ` +
          (others
            ? `other outcomes: ${b.unavailable.count} other 503s, ${
              JSON.stringify(b.otherStatuses)
            }, ${b.networkErrors} network errors${
              b.firstNetworkError ? ` (${b.firstNetworkError})` : ""
            }, ${b.unanswered} unanswered; `
            : "") +
          `${b.maxOutstanding} in flight at most on ${b.connections} connections; inventory ` +
          `${r.cpuUs.toFixed(1)} µs CPU per answer (${r.ticks} ticks), the generator ` +
          `${((b.cpuTicks * tools.usPerTick) / 1000 / b.elapsedMs * 100).toFixed(0)} % of a core`;
      }).join("; "),
  );
  const bad = rounds.reduce(
    (n, r) =>
      n + r.burst.unavailable.count + r.burst.other.count + r.burst.networkErrors +
      r.burst.unanswered,
    0,
  );
  if (bad) {
    notes.push(
      `Overload: ${bad} requests were neither a 200 nor a 503 overloaded (see the rounds).`,
    );
  }
  const short = rounds.filter((r) => offered(r) < 0.9 * r.rate);
  if (short.length) {
    const notSent = short.reduce((n, r) => n + r.burst.notSent, 0);
    const lag = Math.max(...short.map((r) => r.burst.maxLagMs));
    notes.push(
      `Overload: in ${short.length} of ${rounds.length} rounds under 90 % of the target rate ` +
        `was sent: ${notSent} due requests were not sent because the generator's in-flight ` +
        `limit was reached (the service was not answering), and its sending lagged up to ` +
        `${lag.toFixed(0)} ms behind the schedule.`,
    );
  }
}
