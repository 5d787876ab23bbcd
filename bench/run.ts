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
 * Figures (BENCH_ONLY names in brackets, any case):
 *
 *   P1  [P1] cached GET /products/{id}, whole stack (API key, request id, JSON:API, access log) vs a
 *       bare Deno.serve returning the same bytes; Upstash (gateway on real Redis) and embedded LRU.
 *       For information, a one-route Hono app returning those bytes against the same bare
 *       Deno.serve (the framework's floor), and the kernel's part of every CPU figure (stime).
 *   P2  [P2] uncached GET /products/{id} (CACHE_TTL_SECONDS=0, PostgreSQL) vs a bare Deno.serve
 *       doing the same postgres.js point select.
 *   P3  [P3] PATCH /inventory/{id} purchases (quantity_delta -1), 50 connections on one product, vs
 *       a bare Deno.serve doing the same conditional findOneAndUpdate on the same server.
 *   P3k [P3K] the same purchases with a distinct Idempotency-Key per request (on a product of their
 *       own), vs the same ceiling.
 *   P4  [P4] POST /inventory, a fresh product every request (seeded beforehand, walked by wrk; the
 *       ceiling gets the same requests), throughput and p99, vs a bare Deno.serve making the same
 *       two calls at the same concurrency: GET /products/{id} on the same products process (fetch,
 *       API key), then insertOne into a collection of its own on the same MongoDB server.
 *       (The former P4, POST latency against a cached GET, is retired.)
 *   Overload [OVERLOAD] inventory with its default admission settings, purchases sent open-loop
 *       (bench/lib/open_loop.ts) at BENCH_OVERLOAD_FACTOR × the capacity a short closed loop just
 *       measured: goodput vs capacity, share refused (503 overloaded), p99 of refusals and of
 *       successes. Report only.
 *   P5  [P5] cold start, spawn to first 200 on /health, vs a tiny Deno.serve script.
 *   P6  [P6] RSS (VmRSS) idle and after load; embedded products idle after its first start (new
 *       data dir), after a restart (data dir exists) and started as `deno task dev` does (--watch).
 *
 * The inventory figures (P3, P3k, P4, Overload) are in bench/lib/inventory_figures.ts; what every
 * figure shares (settings, alternating runs, rows) is in bench/lib/harness.ts.
 *
 * Settings (environment): BENCH_ROUNDS (5), BENCH_DURATION (10 s), BENCH_WARMUP (2 s),
 * BENCH_THREADS (1), BENCH_CONNECTIONS (50), BENCH_P4_CONNECTIONS (10), BENCH_OVERLOAD_FACTOR (10),
 * BENCH_COLD_RUNS (5), BENCH_ONLY (e.g. "P1,P3K,OVERLOAD"; P6 rows come with the runs they follow),
 * BENCH_RESULTS (output path, default bench/RESULTS.md).
 */
import {
  clkTck,
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
  treeRssMb,
  waitHealthy,
} from "./lib/procs.ts";
import { ensureWrk, wrkVersion } from "./lib/wrk.ts";
import {
  codeVersion,
  fmt,
  loadAverage,
  machineInfo,
  median,
  table,
  verdict,
} from "./lib/report.ts";
import { backends, createBenchStores } from "./lib/stores.ts";
import {
  alternate,
  api,
  type Context,
  countInLog,
  createProduct,
  details,
  EMBEDDED_RSS_MB,
  expectStatus,
  KEY,
  log,
  measuredTrees,
  notes,
  refRss,
  rows,
  rssRow,
  S,
  settle,
  settledRss,
  staticTarget,
  throughputRow,
  tools,
  want,
} from "./lib/harness.ts";
import { runInventoryFigures } from "./lib/inventory_figures.ts";

/**
 * P1 on one products process: captures its cached answer, then alternates with static.ts. With
 * `floor`, a one-route Hono app answering the same bytes (hono_static.ts) is then measured against
 * static.ts too: what the framework alone costs, for information.
 */
async function p1(ctx: Context, products: Proc, stores: string, label: string, floor = false) {
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
  const file = `${tools.scratch}/p1-${label}.json`;
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
    const kernel = (side: "service" | "ceiling") =>
      fmt.us(median(runs.pairs.map((p) => p[side].kernelUs)));
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
        `. Of the CPU per request, the kernel's part (stime; medians): ${kernel("service")} ` +
        `against the ceiling's ${kernel("ceiling")}.`,
    );
    if (floor) await frameworkFloor(ctx, file, path, ceiling);
  } finally {
    await ceiling.stop();
  }
}

async function frameworkFloor(ctx: Context, file: string, path: string, ceiling: Proc) {
  const hono = await startDeno({
    name: "reference-hono-static",
    script: "bench/ceilings/hono_static.ts",
    env: { BENCH_RESPONSE_FILE: file },
    cwd: ctx.realDir,
  });
  try {
    const runs = await alternate(
      "P1 framework floor",
      staticTarget("one-route Hono app", hono, path, "GET", KEY),
      staticTarget("bare Deno.serve", ceiling, path, "GET", KEY),
    );
    throughputRow(
      "P1",
      "reference: a one-route Hono app answering the same bytes (no middleware)",
      "none",
      runs,
      undefined,
    );
  } finally {
    await hono.stop();
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
      await p1(ctx, products, "PGlite + in-process LRU", "lru", true);
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
  tools.wrk = await ensureWrk(log);
  const wrkVer = await wrkVersion(tools.wrk);
  const clk = await clkTck();
  tools.usPerTick = 1e6 / clk;
  const codeStart = await codeVersion(REPO);
  const b = await backends();
  log(`backends from ${b.source}`);
  const stores = await createBenchStores(b);
  // One drop, awaited by everyone who asks (the main path and a signal handler may both).
  let dropping: Promise<void> | undefined;
  const dropStores = () =>
    dropping ??= stores.drop().catch((e) => log(`could not drop the bench databases: ${e}`));
  cleanupHooks.push(dropStores);
  tools.scratch = await makeTempDir("scratch");
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
    const inventoryFigures = ["P3", "P3K", "P4", "OVERLOAD", "P6"].some(want);
    if (want("P1") || want("P2") || inventoryFigures) {
      const { productsReal } = await runP1AndP6(ctx);
      if (want("P2")) await runP2(ctx);
      if (inventoryFigures) await runInventoryFigures(ctx, productsReal);
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

  const order = ["P1", "P2", "P3", "P3k", "P4", "Overload", "P5", "P6"];
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
        ` Stores' own CPU (PostgreSQL, FerretDB, the Upstash gateway) is not in any figure's ` +
        `ratio; the MongoDB-wire server's, when it runs on this machine, is reported beside P3 ` +
        `and P3k in the details.`,
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
    "got, though a busy machine still raises it (cache and scheduling effects; see the load). " +
    "The rounds below give its kernel part (stime) too. On this VM a cached read's kernel time " +
    "per request was about twice the ceiling's for the same system calls per request (strace), " +
    "most of the difference in waking wrk on the other core (perf): a server slower than its " +
    "ceiling finds wrk asleep more often, so the ratio of CPU per request exaggerates the gap.",
    "",
    "P1's framework floor is a one-route Hono app answering the captured bytes (no middleware), " +
    "against the same bare `Deno.serve`: the part of the budget Hono itself takes.",
    "",
    "P3k is P3's purchase with a distinct `Idempotency-Key` on every request, against the same " +
    "bare conditional update. P4 is `POST /inventory` (a fresh product every request) against a " +
    "bare `Deno.serve` making the same two calls at the same concurrency: `GET /products/{id}` " +
    "on the same products service, then `insertOne` on the same MongoDB server; the former P4, " +
    "`POST /inventory` latency against a cached `GET /products/{id}`, is retired (it compared a " +
    "write calling another service with a cached read). Overload sends purchases open-loop at " +
    `${S.overloadFactor}× the capacity a closed loop measured just before, to inventory with ` +
    "its default admission settings; it is reported, with no target.",
    "",
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${machine.host}: nproc ${machine.nproc}, ${machine.cpu}, ${machine.memory} RAM, ` +
    `Linux ${machine.kernel}`,
    `- Versions: Deno ${machine.deno}, ${wrkVer}`,
    `- Code: ${code}` + (code === codeStart ? "" : ` (at start: ${codeStart})`),
    `- Load average (1/5/15 min): ${loadStart} at start, ${loadEnd} at end`,
    `- Settings: ${S.rounds} rounds; \`wrk -t${S.threads} -c${S.connections} -d${S.durationS}s\`` +
    ` after a ${S.warmupS} s warm-up (P4: -c${S.p4Connections}; Overload: capacity over ` +
    `${Math.min(S.durationS, 5)} s, then bursts of ${S.durationS} s at ${S.overloadFactor}× it ` +
    `from bench/lib/open_loop.ts); CPU time from ` +
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
