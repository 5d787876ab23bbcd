/**
 * `deno task bench`: each service against its ceiling, side by side, on this machine.
 *
 * For every figure the service and its ceiling run ALTERNATELY (the order flips each round), five
 * rounds by default, and the figure is the median of the per-round ratios: on a shared, noisy
 * machine only ratios measured next to each other mean anything. wrk runs with one thread, so on a
 * two-core machine the server and the load generator each have a core.
 *
 * Next to req/s, every throughput run reports CPU time per request: utime + stime of the serving
 * process (from /proc/<pid>/stat, in CLK_TCK ticks) read just before and just after the measured
 * run (after the warm-up), divided by the requests wrk completed in it. CPU per request does not
 * depend on how much of the core the server got, so it is the steadier figure when other work
 * competes for the machine. The pid is checked to hold the port's listening socket.
 *
 *   P1  cached GET /products/{id}, whole stack (API key, request id, JSON:API, access log) vs a bare
 *       Deno.serve returning the same bytes; Upstash (gateway on real Redis) and embedded LRU.
 *   P2  uncached GET /products/{id} (CACHE_TTL_SECONDS=0, PostgreSQL) vs a bare Deno.serve doing
 *       the same postgres.js point select.
 *   P3  PATCH /inventory/{id} purchases (quantity_delta -1), 50 connections on one product, vs a
 *       bare Deno.serve doing the same conditional findOneAndUpdate on the same server.
 *   P4  POST /inventory latency (it calls products; every request a fresh product) vs cached
 *       GET /products/{id} latency at the same concurrency.
 *   P5  cold start, spawn to first 200 on /health, vs a tiny Deno.serve script.
 *   P6  RSS (VmRSS) idle and after load; embedded products idle after its first start (new data
 *       dir), after a restart (data dir exists) and started as `deno task dev` does (--watch).
 *
 * Settings (environment): BENCH_ROUNDS (5), BENCH_DURATION (10 s), BENCH_WARMUP (2 s),
 * BENCH_THREADS (1), BENCH_CONNECTIONS (50), BENCH_P4_CONNECTIONS (10), BENCH_COLD_RUNS (5),
 * BENCH_ONLY (e.g. "P1,P3"; P6 rows come with the runs they follow), BENCH_RESULTS (output path,
 * default bench/RESULTS.md).
 */
import {
  BENCH_API_KEY,
  clkTck,
  cpuTicks,
  freePort,
  liveCount,
  makeTempDir,
  type Proc,
  REPO,
  rssMb,
  servingPids,
  sleep,
  spawnDeno,
  type SpawnOptions,
  startDeno,
  stopAll,
  tailLog,
  treeRssMb,
  waitHealthy,
} from "./lib/procs.ts";
import {
  ensureWrk,
  runWrk,
  staticScript,
  walkScript,
  type WrkResult,
  wrkVersion,
} from "./lib/wrk.ts";
import {
  codeVersion,
  fmt,
  loadAverage,
  machineInfo,
  median,
  type Row,
  table,
  verdict,
} from "./lib/report.ts";
import { backends, type BenchStores, createBenchStores } from "./lib/stores.ts";

function envInt(name: string, fallback: number): number {
  const raw = Deno.env.get(name);
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
}

const S = {
  rounds: Math.max(1, Math.round(envInt("BENCH_ROUNDS", 5))),
  durationS: envInt("BENCH_DURATION", 10),
  warmupS: envInt("BENCH_WARMUP", 2),
  threads: Math.round(envInt("BENCH_THREADS", 1)),
  connections: Math.round(envInt("BENCH_CONNECTIONS", 50)),
  p4Connections: Math.round(envInt("BENCH_P4_CONNECTIONS", 10)),
  coldRuns: Math.round(envInt("BENCH_COLD_RUNS", 5)),
  only: (Deno.env.get("BENCH_ONLY") ?? "").toUpperCase().split(",").map((s) => s.trim())
    .filter(Boolean),
  results: Deno.env.get("BENCH_RESULTS") ?? `${REPO}bench/RESULTS.md`,
};
const want = (fig: string) => S.only.length === 0 || S.only.includes(fig);

const started = Date.now();
function log(line: string) {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  console.error(`bench [${t}s] ${line}`);
}

const rows: Row[] = [];
const details: string[] = [];
const notes: string[] = [];
const KEY = { "X-API-Key": BENCH_API_KEY };
const JSONAPI = "application/vnd.api+json";

// ---------------------------------------------------------------------------------------------
// HTTP helpers

interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  doc: any;
}

async function api(base: string, path: string, method = "GET", body?: unknown): Promise<ApiAnswer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? KEY : { ...KEY, "Content-Type": JSONAPI },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, doc };
}

function expectStatus(answer: ApiAnswer, status: number, what: string): void {
  if (answer.status !== status) {
    throw new Error(
      `${what}: expected ${status}, got ${answer.status}: ${answer.text.slice(0, 500)}`,
    );
  }
}

async function createProduct(products: Proc, name: string): Promise<string> {
  const created = await api(products.url, "/products", "POST", {
    data: {
      type: "products",
      attributes: { name, description: "A product for the benchmark, 350 ml, blue", price: 12.5 },
    },
  });
  expectStatus(created, 201, `POST /products on ${products.name}`);
  return created.doc.data.id;
}

async function countInLog(proc: Proc, needle: string): Promise<number> {
  const text = await Deno.readTextFile(proc.logPath).catch(() => "");
  let count = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) count++;
  return count;
}

// ---------------------------------------------------------------------------------------------
// Alternating load runs

interface LoadTarget {
  name: string;
  url: string;
  /** Lua for the next run (id-walking scripts move on after every run, warm-ups included). */
  script: () => string;
  connections: number;
  /** Told how the run went (for id-walking offsets). */
  after?: (r: WrkResult) => void;
  /**
   * The process behind `url`: its CPU time is measured around every measured run, and it is
   * named in the error if it died.
   */
  proc: Proc;
  /** Other processes the requests go through: CPU per request reported for information. */
  others?: Proc[];
}

/** A measured run: wrk's figures plus CPU time per request of the processes behind it. */
interface Measured extends WrkResult {
  /** utime + stime of the target's process (tree) during the measured run, in clock ticks. */
  ticks: number;
  /** CPU µs per request wrk completed. */
  cpuUs: number;
  /** The same for `others`, by process name. */
  othersUs: Record<string, number>;
}

let wrk = "wrk";
let scratch = "/tmp";
let usPerTick = 10_000;
/** Every process whose CPU time was measured: name → pids of its tree (for the notes). */
const measuredTrees = new Map<string, { pid: number; tree: number[] }>();

/** The pids whose CPU time stands for `proc`: its tree, once checked to hold its port. */
function cpuPids(proc: Proc): number[] {
  const { serving, tree } = servingPids(proc);
  if (!serving.includes(proc.pid)) {
    log(`${proc.name}: pid ${proc.pid} does not hold port ${proc.port}; ${serving} does`);
  }
  measuredTrees.set(proc.name, { pid: proc.pid, tree });
  return tree;
}

function treeTicks(pids: number[], proc: Proc): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuTicks(pid);
    } catch (err) {
      throw new Error(`${proc.name}: pid ${pid} of its tree is gone`, { cause: err });
    }
  }
  return sum;
}

async function load(target: LoadTarget): Promise<Measured> {
  const base = { threads: S.threads, connections: target.connections, url: target.url };
  const procs = [target.proc, ...(target.others ?? [])];
  const once = async (durationS: number, measure: boolean) => {
    try {
      const script = target.script();
      const pids = measure ? procs.map(cpuPids) : [];
      // Read just before wrk starts and just after it ends: nothing else happens in between.
      const before = pids.map((p, i) => treeTicks(p, procs[i]!));
      const result = await runWrk(wrk, scratch, { ...base, script, durationS });
      const after = pids.map((p, i) => treeTicks(p, procs[i]!));
      target.after?.(result);
      // wrk counts a dead server as socket errors and carries on: a figure from it means nothing.
      if (target.proc.exited()) throw new Error("the target exited");
      const ticks = after.map((a, i) => a - before[i]!);
      const perRequest = (t: number) => (t * usPerTick) / result.requests;
      return {
        ...result,
        ticks: ticks[0] ?? NaN,
        cpuUs: perRequest(ticks[0] ?? NaN),
        othersUs: Object.fromEntries(
          procs.slice(1).map((p, i) => [p.name, perRequest(ticks[i + 1]!)]),
        ),
      };
    } catch (err) {
      if (target.proc.exited()) {
        throw new Error(
          `${target.proc.name} died during the run; its log ends:\n${await tailLog(target.proc)}`,
          { cause: err },
        );
      }
      throw err;
    }
  };
  if (S.warmupS > 0) await once(S.warmupS, false);
  return await once(S.durationS, true);
}

interface Pair {
  service: Measured;
  ceiling: Measured;
}

interface Alternation {
  pairs: Pair[];
  /** Load average (1 min) when the rounds began and when they ended. */
  load: string;
}

/** Rounds of service and ceiling back to back, the order flipping every round. */
async function alternate(
  fig: string,
  service: LoadTarget,
  ceiling: LoadTarget,
): Promise<Alternation> {
  const pairs: Pair[] = [];
  const loadBefore = (await loadAverage()).split(" ")[0];
  for (let round = 1; round <= S.rounds; round++) {
    let s: Measured, c: Measured;
    if (round % 2 === 1) {
      s = await load(service);
      c = await load(ceiling);
    } else {
      c = await load(ceiling);
      s = await load(service);
    }
    pairs.push({ service: s, ceiling: c });
    const side = (r: Measured) =>
      `${fmt.rps(r.rps)} ${fmt.us(r.cpuUs)} p99 ${fmt.ms(r.p99Ms)}` +
      `${r.errors ? ` (${r.errors} errors)` : ""}`;
    log(`${fig} round ${round}: ${service.name} ${side(s)} | ${ceiling.name} ${side(c)}`);
  }
  const loadAfter = (await loadAverage()).split(" ")[0];
  return { pairs, load: `${loadBefore} → ${loadAfter}` };
}

function errorNote(fig: string, pairs: Pair[]): string {
  const parts: string[] = [];
  for (const side of ["service", "ceiling"] as const) {
    const errors = pairs.reduce((n, p) => n + p[side].errors, 0);
    const requests = pairs.reduce((n, p) => n + p[side].requests, 0);
    if (errors) {
      const non2xx = pairs.reduce((n, p) => n + p[side].non2xx, 0);
      parts.push(`${side}: ${errors} errors of ${requests} requests (${non2xx} non-2xx)`);
    }
  }
  if (parts.length) notes.push(`${fig}: ${parts.join("; ")} — treat this figure with suspicion.`);
  return parts.length ? " ⚠" : "";
}

/** The CPU reading's resolution: one tick against the fewest ticks a measured run counted. */
function resolution(pairs: Pair[]): string {
  const fewest = Math.min(...pairs.flatMap((p) => [p.service.ticks, p.ceiling.ticks]));
  const pct = fewest > 0 ? `${(100 / fewest).toFixed(2)} %` : "n/a";
  return `CPU resolution ${pct} (fewest ticks in a measured run: ${fewest})`;
}

/**
 * Throughput figure: median of per-round service/ceiling req/s ratios; and a second row, CPU time
 * per request, median of per-round service/ceiling ratios (`cpuTarget`: at most that many times
 * the ceiling's; without it the row is for information).
 */
function throughputRow(
  fig: string,
  what: string,
  stores: string,
  { pairs, load }: Alternation,
  target: number,
  cpuTarget?: number,
): void {
  const ratios = pairs.map((p) => p.service.rps / p.ceiling.rps);
  const ratio = median(ratios);
  const note = errorNote(fig, pairs);
  rows.push({
    figure: fig,
    what,
    stores,
    service: fmt.rps(median(pairs.map((p) => p.service.rps))) + note,
    ceiling: fmt.rps(median(pairs.map((p) => p.ceiling.rps))),
    ratio: fmt.ratio(ratio),
    target: `≥ ${target.toFixed(2)}`,
    met: verdict(ratio >= target),
  });
  const cpuRatios = pairs.map((p) => p.service.cpuUs / p.ceiling.cpuUs);
  const cpuRatio = median(cpuRatios);
  rows.push({
    figure: fig,
    what: `${what}, CPU per request`,
    stores,
    service: fmt.us(median(pairs.map((p) => p.service.cpuUs))) + note,
    ceiling: fmt.us(median(pairs.map((p) => p.ceiling.cpuUs))),
    ratio: fmt.ratio(cpuRatio),
    target: cpuTarget === undefined ? "—" : `≤ ${cpuTarget}×`,
    met: cpuTarget === undefined ? "—" : verdict(cpuRatio <= cpuTarget),
  });
  const fewest = Math.min(...pairs.flatMap((p) => [p.service.ticks, p.ceiling.ticks]));
  if (!(fewest >= 100)) {
    notes.push(
      `${fig} (${stores}): a measured run counted only ${fewest} CPU ticks, so its CPU figure ` +
        `is good to ${fewest > 0 ? (100 / fewest).toFixed(1) : "?"} % only (< 1 % needs ≥ 100 ` +
        `ticks: a longer BENCH_DURATION).`,
    );
  }
  details.push(
    `- ${fig} ${what} (${stores}; load ${load}; ${resolution(pairs)}): ` +
      pairs.map((p, i) =>
        `round ${i + 1} ${Math.round(p.service.rps)} / ${Math.round(p.ceiling.rps)} req/s = ${
          fmt.ratio(ratios[i]!)
        }, CPU ${p.service.cpuUs.toFixed(1)} / ${p.ceiling.cpuUs.toFixed(1)} µs/req = ${
          fmt.ratio(cpuRatios[i]!)
        } (p99 ${fmt.ms(p.service.p99Ms)} / ${fmt.ms(p.ceiling.p99Ms)})`
      ).join("; "),
  );
}

const staticTarget = (
  name: string,
  proc: Proc,
  path: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
  connections = S.connections,
): LoadTarget => ({
  name,
  url: `${proc.url}${path}`,
  proc,
  connections,
  script: () => staticScript(method, headers, body),
});

// ---------------------------------------------------------------------------------------------
// P6 helper

/**
 * Waits for /health/ready (stores open: PGlite's start is done; its very first start, creating the
 * data directory, can take minutes on a busy machine), then 2 s more. Returns ms to ready.
 */
async function settle(proc: Proc, since = performance.now()): Promise<number> {
  const ready = await waitHealthy(proc, since, 25, "/health/ready", 600_000);
  await sleep(2000);
  return ready;
}

async function settledRss(proc: Proc): Promise<number> {
  await settle(proc);
  return await rssMb(proc.pid);
}

/** A P6 row: `limitMb` is the target; `targeted` false reports the row for information. */
function rssRow(
  what: string,
  stores: string,
  mb: number,
  reference: string,
  targeted: boolean,
  limitMb = 100,
) {
  rows.push({
    figure: "P6",
    what,
    stores,
    service: fmt.mb(mb),
    ceiling: reference,
    ratio: "—",
    target: targeted ? `≤ ${limitMb} MB` : `(≤ ${limitMb} MB)`,
    met: verdict(mb <= limitMb, !targeted),
  });
}

/** Embedded products (PGlite + LRU) idle: the issue's target. */
const EMBEDDED_RSS_MB = 200;

// ---------------------------------------------------------------------------------------------
// The figures

interface Context {
  stores: BenchStores;
  realEnv: {
    products: Record<string, string>;
    inventory: (productsUrl: string) => Record<string, string>;
  };
  realDir: string;
  embeddedDir: string;
  helloRss?: number;
}

/** P1 on one products process: captures its cached answer, then alternates with static.ts. */
async function p1(ctx: Context, products: Proc, stores: string, label: string) {
  const id = await createProduct(products, `Bench mug (${label})`);
  const path = `/products/${id}`;
  const miss = await api(products.url, path);
  expectStatus(miss, 200, `GET ${path}`);
  const hit = await api(products.url, path);
  expectStatus(hit, 200, `GET ${path}`);
  if (hit.headers.get("x-cache") !== "HIT") {
    throw new Error(
      `P1 (${label}): the second GET was not a cache HIT (X-Cache ${hit.headers.get("x-cache")})`,
    );
  }
  const headers: Record<string, string> = {};
  hit.headers.forEach((v, k) => {
    if (!["date", "content-length", "connection", "transfer-encoding"].includes(k)) headers[k] = v;
  });
  const file = `${scratch}/p1-${label}.json`;
  await Deno.writeTextFile(file, JSON.stringify({ status: 200, headers, body: hit.text }));
  const ceiling = await startDeno({
    name: `ceiling-static-${label}`,
    script: "bench/ceilings/static.ts",
    env: { BENCH_RESPONSE_FILE: file },
    cwd: ctx.realDir,
  });
  const accessBefore = await countInLog(products, '"request completed"');
  const warnBefore = await countInLog(products, '"cache.unavailable"');
  try {
    const runs = await alternate(
      `P1 ${label}`,
      staticTarget(`products(${label})`, products, path, "GET", KEY),
      staticTarget("bare Deno.serve", ceiling, path, "GET", KEY),
    );
    throughputRow("P1", "cached GET /products/{id}", stores, runs, 0.5, 2);
    await sleep(500); // pino writes asynchronously
    const served = runs.pairs.reduce((n, p) => n + p.service.requests, 0);
    const access = (await countInLog(products, '"request completed"')) - accessBefore;
    const cacheWarnings = (await countInLog(products, '"cache.unavailable"')) - warnBefore;
    notes.push(
      `P1 (${stores}): the service wrote ${access.toLocaleString("en-US")} access-log lines ` +
        `during the runs (measured requests alone: ${served.toLocaleString("en-US")}; warm-ups ` +
        `add the rest)` +
        (cacheWarnings
          ? `; ${cacheWarnings} \`cache.unavailable\` warnings (cache calls over 250 ms fell ` +
            `back to the database)`
          : "; no cache fell back to the database") +
        ".",
    );
  } finally {
    await ceiling.stop();
  }
}

async function runP1AndP6(ctx: Context): Promise<{ productsReal: Proc; p1Id?: string }> {
  // Real stores: PostgreSQL + Upstash gateway. Stays up for P3 and P4.
  const productsReal = await startDeno({
    name: "products-real",
    script: "products/main.ts",
    env: ctx.realEnv.products,
    cwd: ctx.realDir,
  });
  const idleReal = await settledRss(productsReal);
  rssRow("products RSS idle", "PostgreSQL + Upstash", idleReal, refRss(ctx), true);
  if (want("P1")) {
    log("P1: cached GET, products on PostgreSQL + Upstash gateway");
    await p1(ctx, productsReal, "PostgreSQL + Upstash (gateway → Redis)", "upstash");
    rssRow(
      "products RSS after P1",
      "PostgreSQL + Upstash",
      await rssMb(productsReal.pid),
      "—",
      false,
    );
  }

  if (want("P1") || want("P6")) await embeddedProducts(ctx);
  if (want("P6")) await devProducts(ctx);
  return { productsReal };
}

/**
 * Embedded products (PGlite + LRU) in a directory of its own: idle after its very first start
 * (PGlite creates the data directory), stopped, idle after a restart on that directory, then P1
 * on the restarted process and its RSS after the load.
 */
async function embeddedProducts(ctx: Context) {
  const dir = await makeTempDir("embedded-products");
  const spec = { script: "products/main.ts", env: {}, cwd: dir };
  log("P6: embedded products (PGlite + LRU), first start on a new data directory");
  const t0 = performance.now();
  const first = await startDeno({ ...spec, name: "products-embedded-first" });
  try {
    const readyMs = await settle(first, t0);
    rssRow(
      "products RSS idle, first start (new data dir)",
      "PGlite + LRU",
      await rssMb(first.pid),
      refRss(ctx),
      true,
      EMBEDDED_RSS_MB,
    );
    notes.push(
      `P6: the first embedded products start (PGlite creating its data directory) was ready ` +
        `after ${(readyMs / 1000).toFixed(1)} s.`,
    );
  } finally {
    await first.stop();
  }
  const products = await startDeno({ ...spec, name: "products-embedded" });
  try {
    rssRow(
      "products RSS idle, restart (data dir exists)",
      "PGlite + LRU",
      await settledRss(products),
      refRss(ctx),
      true,
      EMBEDDED_RSS_MB,
    );
    if (want("P1")) {
      log("P1: cached GET, products on embedded stores (PGlite + LRU)");
      await p1(ctx, products, "PGlite + in-process LRU", "lru");
      rssRow(
        "products RSS after P1",
        "PGlite + LRU",
        await rssMb(products.pid),
        "—",
        false,
        EMBEDDED_RSS_MB,
      );
    }
  } finally {
    await products.stop();
  }
}

/**
 * Embedded products started as `deno task dev` starts it (`deno run -A --watch products/main.ts`),
 * from a new temporary directory with --config pointing at the repository's deno.json: idle RSS of
 * the process tree (a watcher could keep a supervisor and a child; the figure is their sum).
 */
async function devProducts(ctx: Context) {
  log("P6: embedded products as `deno task dev` starts it (--watch), new data directory");
  const dir = await makeTempDir("dev");
  const products = await startDeno({
    name: "products-dev",
    script: "products/main.ts",
    flags: ["--watch"],
    env: {},
    cwd: dir,
    stopSignal: "SIGINT",
  });
  try {
    // Others may be editing the services meanwhile: a file change makes the watcher restart the
    // service, and a reading taken across a restart means nothing. Read again until none happened.
    let reading: { mb: number; pids: number[]; serving: number[] } | undefined;
    let restarts = 0;
    for (let attempt = 1; attempt <= 5 && !reading; attempt++) {
      const before = await countInLog(products, "Restarting");
      await settle(products);
      const { serving } = servingPids(products);
      const { mb, pids } = await treeRssMb(products.pid);
      restarts = await countInLog(products, "Restarting");
      if (restarts === before) reading = { mb, pids, serving };
      else log(`P6: the watcher restarted products-dev during the reading; reading again`);
    }
    if (!reading) throw new Error("P6: products-dev kept restarting (files changing); no reading");
    const { mb, pids, serving } = reading;
    rssRow(
      "products RSS idle, as `deno task dev` (--watch; new data dir; process tree)",
      "PGlite + LRU",
      mb,
      refRss(ctx),
      true,
      EMBEDDED_RSS_MB,
    );
    notes.push(
      `P6 (\`deno task dev\` style): \`deno run -A --watch --config deno.json products/main.ts\` ` +
        `ran as ${pids.length} process(es) (pid ${pids.join(", ")}; pid ${serving.join(", ")} ` +
        `holds the port); the figure is the sum of their VmRSS` +
        (pids.length === 1 ? ": the watcher serves in its own process, without a child" : "") +
        (restarts
          ? `; the watcher restarted the service ${restarts} time(s) (files changed) before ` +
            `the reading, so the instance measured is a restart, not the first start`
          : "") +
        ".",
    );
  } finally {
    await products.stop();
  }
}

function refRss(ctx: Context): string {
  return ctx.helloRss === undefined ? "—" : `${fmt.mb(ctx.helloRss)} (bare Deno.serve idle)`;
}

async function runP2(ctx: Context) {
  log("P2: uncached GET, products with CACHE_TTL_SECONDS=0 on PostgreSQL");
  const products = await startDeno({
    name: "products-nocache",
    script: "products/main.ts",
    env: { DATABASE_URL: ctx.stores.databaseUrl, CACHE_TTL_SECONDS: "0" },
    cwd: ctx.realDir,
  });
  let ceiling: Proc | undefined;
  try {
    const id = await createProduct(products, "Bench uncached mug");
    const path = `/products/${id}`;
    const first = await api(products.url, path);
    expectStatus(first, 200, `GET ${path}`);
    if (first.headers.get("x-cache") !== "MISS") throw new Error("P2: expected X-Cache MISS");
    ceiling = await startDeno({
      name: "ceiling-pg",
      script: "bench/ceilings/pg_get.ts",
      env: { DATABASE_URL: ctx.stores.databaseUrl },
      cwd: ctx.realDir,
    });
    expectStatus(await api(ceiling.url, path), 200, "ceiling GET");
    const runs = await alternate(
      "P2",
      staticTarget("products(no cache)", products, path, "GET", KEY),
      staticTarget("bare Deno.serve + postgres.js", ceiling, path, "GET", KEY),
    );
    throughputRow("P2", "uncached GET /products/{id}", "PostgreSQL", runs, 0.7);
  } finally {
    await ceiling?.stop();
    await products.stop();
  }
}

async function runP3(ctx: Context, productsReal: Proc): Promise<Proc> {
  const inventory = await startDeno({
    name: "inventory-real",
    script: "inventory/main.ts",
    env: ctx.realEnv.inventory(productsReal.url),
    cwd: ctx.realDir,
  });
  const idle = await settledRss(inventory);
  rssRow("inventory RSS idle", "MongoDB wire (FerretDB)", idle, refRss(ctx), true);
  if (!want("P3")) return inventory;

  log("P3: PATCH /inventory/{id} purchases under contention, inventory on FerretDB");
  const id = await createProduct(productsReal, "Bench contended product");
  const created = await api(inventory.url, "/inventory", "POST", {
    data: { type: "inventory", attributes: { product_id: id, quantity: 100_000_000 } },
  });
  expectStatus(created, 201, "POST /inventory (P3 stock)");
  const body = JSON.stringify({
    data: { type: "inventory", id, attributes: { quantity_delta: -1 } },
  });
  const headers = { ...KEY, "Content-Type": JSONAPI };
  const check = await api(inventory.url, `/inventory/${id}`, "PATCH", JSON.parse(body));
  expectStatus(check, 200, "PATCH /inventory (P3 check)");
  const ceiling = await startDeno({
    name: "ceiling-mongo",
    script: "bench/ceilings/mongo_patch.ts",
    env: { MONGODB_URL: ctx.realEnv.inventory("").MONGODB_URL!, MONGODB_DB: ctx.stores.mongoDb },
    cwd: ctx.realDir,
  });
  try {
    const c = await fetch(`${ceiling.url}/inventory/${id}`, { method: "PATCH", headers, body });
    await c.body?.cancel();
    if (c.status !== 200) throw new Error(`P3 ceiling answered ${c.status}`);
    const runs = await alternate(
      "P3",
      staticTarget("inventory", inventory, `/inventory/${id}`, "PATCH", headers, body),
      staticTarget(
        "bare Deno.serve + findOneAndUpdate",
        ceiling,
        `/inventory/${id}`,
        "PATCH",
        headers,
        body,
      ),
    );
    throughputRow(
      "P3",
      `PATCH /inventory/{id} −1, ${S.connections} conns, one product`,
      "MongoDB wire (FerretDB)",
      runs,
      0.7,
    );
    const left = await api(inventory.url, `/inventory/${id}`);
    const sold = runs.pairs.reduce((n, p) => n + p.service.requests + p.ceiling.requests, 0);
    notes.push(
      `P3: stock after the runs ${left.doc?.data?.attributes?.quantity} of 100,000,000 ` +
        `(at least ${sold.toLocaleString("en-US")} measured purchases, plus warm-ups).`,
    );
    rssRow(
      "inventory RSS after P3",
      "MongoDB wire (FerretDB)",
      await rssMb(inventory.pid),
      "—",
      false,
    );
  } finally {
    await ceiling.stop();
  }
  return inventory;
}

async function runP4(ctx: Context, productsReal: Proc, inventory: Proc) {
  log("P4: POST /inventory latency vs cached GET /products/{id}");
  // Enough fresh products for every request of every run; each id is used once.
  const perRunCap = 4000; // req/s, well above what POST /inventory reaches here
  const count = Math.ceil(perRunCap * (S.durationS + S.warmupS) * S.rounds) + 1000;
  const ids = await ctx.stores.seedProducts(count);
  const idsFile = `${scratch}/p4-product-ids.txt`;
  await Deno.writeTextFile(idsFile, ids.join("\n") + "\n");
  const bodyTemplate = JSON.stringify({
    data: { type: "inventory", attributes: { product_id: "{{id}}", quantity: 100 } },
  });
  const first = await api(
    inventory.url,
    "/inventory",
    "POST",
    JSON.parse(
      bodyTemplate.replace("{{id}}", ids[0]!),
    ),
  );
  expectStatus(first, 201, "POST /inventory (P4 check)");
  let offset = 1;
  let ranOut = false;
  const post: LoadTarget = {
    name: "POST /inventory",
    url: `${inventory.url}/inventory`,
    proc: inventory,
    others: [productsReal], // each POST asks products for the product
    connections: S.p4Connections,
    script: () =>
      walkScript({
        method: "POST",
        path: "/inventory",
        headers: { ...KEY, "Content-Type": JSONAPI },
        bodyTemplate,
        idsFile,
        offset,
        threads: S.threads,
      }),
    after: (r) => {
      offset += r.used * S.threads;
      if (offset > ids.length && !ranOut) {
        ranOut = true;
        notes.push(`P4: ran out of fresh product ids (${ids.length}); later requests got 409.`);
      }
    },
  };
  const refId = await createProduct(productsReal, "Bench reference product");
  const refPath = `/products/${refId}`;
  await api(productsReal.url, refPath);
  const hit = await api(productsReal.url, refPath);
  if (hit.headers.get("x-cache") !== "HIT") {
    notes.push("P4: the reference GET was not a cache HIT.");
  }
  const { pairs, load: loadAvg } = await alternate(
    "P4",
    post,
    staticTarget(
      "GET /products/{id}",
      productsReal,
      refPath,
      "GET",
      KEY,
      undefined,
      S.p4Connections,
    ),
  );
  const note = errorNote("P4", pairs);
  for (const q of ["p99", "p50"] as const) {
    const key = q === "p99" ? "p99Ms" : "p50Ms";
    const ratios = pairs.map((p) => p.service[key] / p.ceiling[key]);
    const ratio = median(ratios);
    rows.push({
      figure: "P4",
      what: `POST /inventory latency ${q} (${S.p4Connections} conns)`,
      stores: "PostgreSQL + Upstash, FerretDB",
      service: fmt.ms(median(pairs.map((p) => p.service[key]))) + (q === "p99" ? note : ""),
      ceiling: `${fmt.ms(median(pairs.map((p) => p.ceiling[key])))} (cached GET /products/{id})`,
      ratio: fmt.ratio(ratio),
      target: q === "p99" ? "≤ 3×" : "—",
      met: q === "p99" ? verdict(ratio <= 3) : "—",
    });
    details.push(
      `- P4 ${q}: ` +
        pairs.map((p, i) =>
          `round ${i + 1} ${fmt.ms(p.service[key])} / ${fmt.ms(p.ceiling[key])} = ${
            fmt.ratio(ratios[i]!)
          }`
        ).join("; "),
    );
  }
  details.push(
    `- P4 throughput at ${S.p4Connections} conns: POST /inventory ${
      fmt.rps(median(pairs.map((p) => p.service.rps)))
    }, cached GET ${fmt.rps(median(pairs.map((p) => p.ceiling.rps)))}`,
    `- P4 CPU per request (medians; load ${loadAvg}; ${resolution(pairs)}): POST /inventory ${
      fmt.us(median(pairs.map((p) => p.service.cpuUs)))
    } in inventory plus ${
      fmt.us(median(pairs.map((p) => p.service.othersUs[productsReal.name] ?? NaN)))
    } in products (its GET of the product); cached GET ${
      fmt.us(median(pairs.map((p) => p.ceiling.cpuUs)))
    } in products`,
  );
}

/** P5: spawn → first 200 on /health, alternating with hello.ts; primes both once, untimed. */
async function runP5(ctx: Context) {
  const hello: Omit<SpawnOptions, "port"> = {
    name: "ceiling-hello",
    script: "bench/ceilings/hello.ts",
    env: {},
    cwd: ctx.realDir,
  };
  const targets: {
    what: string;
    stores: string;
    spec: Omit<SpawnOptions, "port">;
    real: boolean;
  }[] = [
    {
      what: "products cold start",
      stores: "PostgreSQL + Upstash",
      spec: {
        name: "products-cold",
        script: "products/main.ts",
        env: ctx.realEnv.products,
        cwd: ctx.realDir,
      },
      real: true,
    },
    {
      what: "inventory cold start",
      stores: "MongoDB wire (FerretDB)",
      spec: {
        name: "inventory-cold",
        script: "inventory/main.ts",
        env: ctx.realEnv.inventory("http://127.0.0.1:8001"),
        cwd: ctx.realDir,
      },
      real: true,
    },
    {
      what: "products cold start",
      stores: "PGlite + LRU (data dir exists)",
      spec: {
        name: "products-cold-embedded",
        script: "products/main.ts",
        env: {},
        cwd: ctx.embeddedDir,
      },
      real: false,
    },
    {
      what: "inventory cold start",
      stores: "Deno KV",
      spec: {
        name: "inventory-cold-embedded",
        script: "inventory/main.ts",
        env: {},
        cwd: ctx.embeddedDir,
      },
      real: false,
    },
  ];
  // Each start is timed twice: to the first 200 on /health (the figure: the process is up and
  // serving) and to the first 200 on /health/ready (stores connected: real traffic is served).
  const readyMs: number[] = [];
  const once = async (spec: Omit<SpawnOptions, "port">) => {
    const port = freePort();
    const t0 = performance.now();
    const proc = spawnDeno({ ...spec, port });
    try {
      const live = await waitHealthy(proc, t0, 5);
      readyMs.push(await waitHealthy(proc, t0, 5, "/health/ready"));
      return live;
    } finally {
      await proc.stop();
    }
  };
  // The first start ever also compiles and caches the scripts; not part of the figure.
  await once(hello);
  for (const t of targets) {
    log(`P5: ${t.what} (${t.stores}), ${S.coldRuns} runs each`);
    const first = await once(t.spec);
    if (t.spec.name === "products-cold-embedded") {
      notes.push(
        `P5: the very first embedded products start (PGlite creating its data directory) took ` +
          `${fmt.ms(first)}; the figure is for later starts with the directory in place.`,
      );
    }
    const svc: number[] = [];
    const svcReady: number[] = [];
    const ceil: number[] = [];
    const timeService = async () => {
      svc.push(await once(t.spec));
      svcReady.push(readyMs.at(-1)!);
    };
    for (let i = 0; i < S.coldRuns; i++) {
      if (i % 2 === 0) {
        await timeService();
        ceil.push(await once(hello));
      } else {
        ceil.push(await once(hello));
        await timeService();
      }
    }
    const ratios = svc.map((s, i) => s / ceil[i]!);
    const ratio = median(ratios);
    rows.push({
      figure: "P5",
      what: t.what,
      stores: t.stores,
      service: fmt.ms(median(svc)),
      ceiling: `${fmt.ms(median(ceil))} (tiny Deno.serve)`,
      ratio: fmt.ratio(ratio),
      target: t.real ? "≤ 2×" : "(≤ 2×)",
      met: verdict(ratio <= 2, !t.real),
    });
    const readyRatio = median(svcReady.map((s, i) => s / ceil[i]!));
    rows.push({
      figure: "P5",
      what: `${t.what}, to /health/ready`,
      stores: t.stores,
      service: fmt.ms(median(svcReady)),
      ceiling: `${fmt.ms(median(ceil))} (tiny Deno.serve)`,
      ratio: fmt.ratio(readyRatio),
      target: "—",
      met: "—",
    });
    details.push(
      `- P5 ${t.what} (${t.stores}): service ${svc.map((v) => v.toFixed(0)).join(", ")} ms ` +
        `(ready ${svcReady.map((v) => v.toFixed(0)).join(", ")} ms); ` +
        `tiny Deno.serve ${ceil.map((v) => v.toFixed(0)).join(", ")} ms`,
    );
  }
}

async function helloIdleRss(ctx: Context): Promise<number> {
  const hello = await startDeno({
    name: "ceiling-hello-rss",
    script: "bench/ceilings/hello.ts",
    env: {},
    cwd: ctx.realDir,
  });
  try {
    return await settledRss(hello);
  } finally {
    await hello.stop();
  }
}

async function inventoryEmbeddedIdle(ctx: Context) {
  const inventory = await startDeno({
    name: "inventory-embedded",
    script: "inventory/main.ts",
    env: {},
    cwd: ctx.embeddedDir,
  });
  try {
    rssRow("inventory RSS idle", "Deno KV", await settledRss(inventory), refRss(ctx), false);
  } finally {
    await inventory.stop();
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const machine = await machineInfo();
  const loadStart = await loadAverage();
  log(
    `machine: ${machine.host}, ${machine.nproc} CPUs (${machine.cpu}), ${machine.memory}; ` +
      `load ${loadStart}`,
  );
  wrk = await ensureWrk(log);
  const wrkVer = await wrkVersion(wrk);
  const clk = await clkTck();
  usPerTick = 1e6 / clk;
  const codeStart = await codeVersion(REPO);
  const b = await backends();
  log(`backends from ${b.source}`);
  const stores = await createBenchStores(b);
  // One drop, awaited by everyone who asks (the main path and a signal handler may both).
  let dropping: Promise<void> | undefined;
  const dropStores = () =>
    dropping ??= stores.drop().catch((e) => log(`could not drop the bench databases: ${e}`));
  cleanupHooks.push(dropStores);
  scratch = await makeTempDir("scratch");
  const ctx: Context = {
    stores,
    realEnv: {
      products: {
        DATABASE_URL: stores.databaseUrl,
        UPSTASH_REDIS_REST_URL: b.UPSTASH_REDIS_REST_URL,
        UPSTASH_REDIS_REST_TOKEN: b.UPSTASH_REDIS_REST_TOKEN,
      },
      inventory: (productsUrl) => ({
        MONGODB_URL: b.MONGODB_URL,
        MONGODB_DB: stores.mongoDb,
        PRODUCTS_SERVICE_URL: productsUrl,
      }),
    },
    realDir: await makeTempDir("real"),
    embeddedDir: await makeTempDir("embedded"),
  };

  let finished = false;
  try {
    if (want("P6")) ctx.helloRss = await helloIdleRss(ctx);
    if (want("P5")) await runP5(ctx);
    if (want("P1") || want("P2") || want("P3") || want("P4") || want("P6")) {
      const { productsReal } = await runP1AndP6(ctx);
      if (want("P2")) await runP2(ctx);
      if (want("P3") || want("P4") || want("P6")) {
        const inventory = await runP3(ctx, productsReal);
        if (want("P4")) await runP4(ctx, productsReal, inventory);
        await inventory.stop();
      }
      await productsReal.stop();
      if (want("P6")) await inventoryEmbeddedIdle(ctx);
    }
    finished = true;
  } finally {
    // After a failure the temporary directories stay: the service logs are in them.
    const kept = await stopAll(!finished);
    if (kept.length) log(`service logs kept in: ${kept.join(" ")}`);
    await dropStores();
  }

  const order = ["P1", "P2", "P3", "P4", "P5", "P6"];
  rows.sort((a, b) => order.indexOf(a.figure) - order.indexOf(b.figure));
  const loadEnd = await loadAverage();
  const code = await codeVersion(REPO);
  if (measuredTrees.size) {
    const multi = [...measuredTrees].filter(([, t]) => t.tree.length > 1);
    notes.push(
      `CPU time was read for ${measuredTrees.size} processes; each held its port's listening ` +
        `socket (checked in /proc/net/tcp and /proc/<pid>/fd before every measured run)` +
        (multi.length
          ? `; with children, summed: ${
            multi.map(([n, t]) => `${n} (pids ${t.tree.join(", ")})`).join(", ")
          }.`
          : `, and none had a child process (\`deno run\` serves in the process it starts).`) +
        ` Stores' own CPU (PostgreSQL, FerretDB, the Upstash gateway) is not counted.`,
    );
  }
  const missed = rows.filter((r) => r.met === "**NO**").map((r) =>
    `${r.figure} ${r.what} (${r.stores})`
  );
  const md = [
    "# Stockroom benchmark results",
    "",
    "Written by `deno task bench` (bench/run.ts). Each figure alternates the service and its " +
    "ceiling, the order flipping every round; ratios are medians of per-round ratios, so only " +
    "they, not the absolute numbers, compare across machines and noisy runs. Throughput figures " +
    "also give CPU time per request (utime + stime of the serving process over the measured run, " +
    "divided by the requests wrk completed): it does not depend on how much of a core the process " +
    "got, though a busy machine still raises it (cache and scheduling effects; see the load).",
    "",
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machine.host}: nproc ${machine.nproc}, ${machine.cpu}, ${machine.memory} RAM, ` +
    `Linux ${machine.kernel}`,
    `- Versions: Deno ${machine.deno}, ${wrkVer}`,
    `- Code: ${code}` + (code === codeStart ? "" : ` (at start: ${codeStart})`),
    `- Load average (1/5/15 min): ${loadStart} at start, ${loadEnd} at end`,
    `- Settings: ${S.rounds} rounds; \`wrk -t${S.threads} -c${S.connections} -d${S.durationS}s\`` +
    ` after a ${S.warmupS} s warm-up (P4: -c${S.p4Connections}); CPU time from ` +
    `/proc/<pid>/stat (CLK_TCK ${clk}) read just before and after each measured run; ` +
    `${S.coldRuns} cold starts per side; RSS 2 s after /health/ready; services with ` +
    `LOG_LEVEL=info (access log to a file), API_KEY set and sent.`,
    `- Stores: PostgreSQL, Upstash REST gateway → Redis and FerretDB from ${b.source}; a ` +
    `database of the run's own on each (dropped afterwards). Embedded: PGlite, LRU, Deno KV.`,
    "",
    table(rows),
    "",
    missed.length ? `Missed targets: ${missed.join("; ")}.` : "All targets met.",
    "",
    "## Rounds",
    "",
    ...details,
    "",
    ...(notes.length ? ["## Notes", "", ...notes.map((n) => `- ${n}`), ""] : []),
  ].join("\n");
  await Deno.writeTextFile(S.results, md);
  // Formatted as `deno fmt` would, so `deno task ok` (fmt --check) stays green after a run.
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", "--config", `${REPO}deno.json`, S.results],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => {});
  console.log(md);
  log(`wrote ${S.results}; ${liveCount()} processes left running`);
}

const cleanupHooks: (() => Promise<void>)[] = [];
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping everything the bench started`);
    await stopAll();
    for (const hook of cleanupHooks) await hook().catch(() => {});
    Deno.exit(130);
  });
}

try {
  await main();
} catch (err) {
  // After a signal the failure is just the interrupted run; the handler reports and exits.
  if (interrupted) await new Promise(() => {});
  log(`FAILED: ${err instanceof Error ? err.stack ?? err.message : err}`);
  const kept = await stopAll(true);
  if (kept.length) log(`service logs kept in: ${kept.join(" ")}`);
  for (const hook of cleanupHooks) await hook().catch(() => {});
  Deno.exit(1);
}
Deno.exit(0);
