/**
 * What every figure shares: the settings, the results being gathered (rows, round details, notes),
 * HTTP helpers for setting up data, and the alternating load runs (wrk, CPU time per request from
 * /proc/<pid>/stat, medians of per-round ratios). run.ts and the figure modules use it.
 */
import {
  BENCH_API_KEY,
  cpuTimes,
  type Proc,
  REPO,
  rssMb,
  servingPids,
  sleep,
  tailLog,
  waitHealthy,
} from "./procs.ts";
import { runWrk, staticScript, type WrkResult } from "./wrk.ts";
import { fmt, loadAverage, median, type Row, verdict } from "./report.ts";
import type { BenchStores } from "./stores.ts";

export function envInt(name: string, fallback: number): number {
  const raw = Deno.env.get(name);
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
}

export const S = {
  rounds: Math.max(1, Math.round(envInt("BENCH_ROUNDS", 5))),
  durationS: envInt("BENCH_DURATION", 10),
  warmupS: envInt("BENCH_WARMUP", 2),
  threads: Math.round(envInt("BENCH_THREADS", 1)),
  connections: Math.round(envInt("BENCH_CONNECTIONS", 50)),
  p4Connections: Math.round(envInt("BENCH_P4_CONNECTIONS", 10)),
  overloadFactor: envInt("BENCH_OVERLOAD_FACTOR", 10),
  coldRuns: Math.round(envInt("BENCH_COLD_RUNS", 5)),
  only: (Deno.env.get("BENCH_ONLY") ?? "").toUpperCase().split(",").map((s) => s.trim())
    .filter(Boolean),
  results: Deno.env.get("BENCH_RESULTS") ?? `${REPO}bench/RESULTS.md`,
};
export const want = (fig: string) => S.only.length === 0 || S.only.includes(fig);

const started = Date.now();
export function log(line: string) {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  console.error(`bench [${t}s] ${line}`);
}

export const rows: Row[] = [];
export const details: string[] = [];
export const notes: string[] = [];
export const KEY = { "X-API-Key": BENCH_API_KEY };
export const JSONAPI = "application/vnd.api+json";

// ---------------------------------------------------------------------------------------------
// HTTP helpers

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  doc: any;
}

export async function api(
  base: string,
  path: string,
  method = "GET",
  body?: unknown,
): Promise<ApiAnswer> {
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

export function expectStatus(answer: ApiAnswer, status: number, what: string): void {
  if (answer.status !== status) {
    throw new Error(
      `${what}: expected ${status}, got ${answer.status}: ${answer.text.slice(0, 500)}`,
    );
  }
}

export async function createProduct(products: Proc, name: string): Promise<string> {
  const created = await api(products.url, "/products", "POST", {
    data: {
      type: "products",
      attributes: { name, description: "A product for the benchmark, 350 ml, blue", price: 12.5 },
    },
  });
  expectStatus(created, 201, `POST /products on ${products.name}`);
  return created.doc.data.id;
}

export async function countInLog(proc: Proc, needle: string): Promise<number> {
  const text = await Deno.readTextFile(proc.logPath).catch(() => "");
  let count = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) count++;
  return count;
}

// ---------------------------------------------------------------------------------------------
// Alternating load runs

export interface LoadTarget {
  name: string;
  url: string;
  /**
   * Lua for the next run of `durationS` seconds (id-walking scripts move on after every run,
   * warm-ups included; they may top up their ids first).
   */
  script: (durationS: number) => string | Promise<string>;
  connections: number;
  /** Measured run's length when not BENCH_DURATION. */
  durationS?: number;
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
export interface Measured extends WrkResult {
  /** utime + stime of the target's process (tree) during the measured run, in clock ticks. */
  ticks: number;
  /** CPU µs per request wrk completed. */
  cpuUs: number;
  /**
   * The kernel's part of `cpuUs` (stime): system calls, and the network stack's work done in the
   * serving process's time, such as waking wrk on the other core.
   */
  kernelUs: number;
  /** The same for `others`, by process name. */
  othersUs: Record<string, number>;
}

/** Set by run.ts before the first figure: the wrk binary, a scratch directory, µs per CPU tick. */
export const tools = { wrk: "wrk", scratch: "/tmp", usPerTick: 10_000 };
/** Every process whose CPU time was measured: name → pids of its tree (for the notes). */
export const measuredTrees = new Map<string, { pid: number; tree: number[] }>();

/** The pids whose CPU time stands for `proc`: its tree, once checked to hold its port. */
export function cpuPids(proc: Proc): number[] {
  const { serving, tree } = servingPids(proc);
  if (!serving.includes(proc.pid)) {
    log(`${proc.name}: pid ${proc.pid} does not hold port ${proc.port}; ${serving} does`);
  }
  measuredTrees.set(proc.name, { pid: proc.pid, tree });
  return tree;
}

/** utime and stime of a process tree, in clock ticks. */
export function treeTimes(pids: number[], proc: Proc): { user: number; system: number } {
  const sum = { user: 0, system: 0 };
  for (const pid of pids) {
    try {
      const { user, system } = cpuTimes(pid);
      sum.user += user;
      sum.system += system;
    } catch (err) {
      throw new Error(`${proc.name}: pid ${pid} of its tree is gone`, { cause: err });
    }
  }
  return sum;
}

/** utime + stime of a process tree, in clock ticks. */
export function treeTicks(pids: number[], proc: Proc): number {
  const { user, system } = treeTimes(pids, proc);
  return user + system;
}

export async function load(target: LoadTarget): Promise<Measured> {
  const base = { threads: S.threads, connections: target.connections, url: target.url };
  const procs = [target.proc, ...(target.others ?? [])];
  const once = async (durationS: number, measure: boolean) => {
    try {
      const script = await target.script(durationS);
      const pids = measure ? procs.map(cpuPids) : [];
      // Read just before wrk starts and just after it ends: nothing else happens in between.
      const before = pids.map((p, i) => treeTimes(p, procs[i]!));
      const result = await runWrk(tools.wrk, tools.scratch, { ...base, script, durationS });
      const after = pids.map((p, i) => treeTimes(p, procs[i]!));
      target.after?.(result);
      // wrk counts a dead server as socket errors and carries on: a figure from it means nothing.
      if (target.proc.exited()) throw new Error("the target exited");
      const used = after.map((a, i) => ({
        user: a.user - before[i]!.user,
        system: a.system - before[i]!.system,
      }));
      const ticks = used.map((u) => u.user + u.system);
      const perRequest = (t: number) => (t * tools.usPerTick) / result.requests;
      return {
        ...result,
        ticks: ticks[0] ?? NaN,
        cpuUs: perRequest(ticks[0] ?? NaN),
        kernelUs: perRequest(used[0]?.system ?? NaN),
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
  return await once(target.durationS ?? S.durationS, true);
}

export interface Pair {
  service: Measured;
  ceiling: Measured;
}

export interface Alternation {
  pairs: Pair[];
  /** Load average (1 min) when the rounds began and when they ended. */
  load: string;
}

/** Rounds of service and ceiling back to back, the order flipping every round. */
export async function alternate(
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

export function errorNote(fig: string, pairs: Pair[]): string {
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
export function resolution(pairs: Pair[]): string {
  const fewest = Math.min(...pairs.flatMap((p) => [p.service.ticks, p.ceiling.ticks]));
  const pct = fewest > 0 ? `${(100 / fewest).toFixed(2)} %` : "n/a";
  return `CPU resolution ${pct} (fewest ticks in a measured run: ${fewest})`;
}

/**
 * Throughput figure: median of per-round service/ceiling req/s ratios (`target`: at least that;
 * without it the row is for information); and a second row, CPU time per request, median of
 * per-round service/ceiling ratios (`cpuTarget`: at most that many times the ceiling's).
 */
export function throughputRow(
  fig: string,
  what: string,
  stores: string,
  { pairs, load }: Alternation,
  target: number | undefined,
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
    target: target === undefined ? "—" : `≥ ${target.toFixed(2)}`,
    met: target === undefined ? "—" : verdict(ratio >= target),
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
        } (kernel ${p.service.kernelUs.toFixed(1)} / ${p.ceiling.kernelUs.toFixed(1)} µs/req; ` +
        `p99 ${fmt.ms(p.service.p99Ms)} / ${fmt.ms(p.ceiling.p99Ms)})`
      ).join("; "),
  );
}

/**
 * Latency figure on the same rounds as a throughput figure: median of per-round service/ceiling
 * p99 ratios against `target` (at most that many times the ceiling's). The rounds' p50 and p99 go
 * to the details; error notes come from the throughput row of the same rounds.
 */
export function latencyRow(
  fig: string,
  what: string,
  stores: string,
  { pairs }: Alternation,
  target: number,
): void {
  const ratios = pairs.map((p) => p.service.p99Ms / p.ceiling.p99Ms);
  const ratio = median(ratios);
  rows.push({
    figure: fig,
    what: `${what}, p99 latency`,
    stores,
    service: fmt.ms(median(pairs.map((p) => p.service.p99Ms))),
    ceiling: fmt.ms(median(pairs.map((p) => p.ceiling.p99Ms))),
    ratio: fmt.ratio(ratio),
    target: `≤ ${target}×`,
    met: verdict(ratio <= target),
  });
  details.push(
    `- ${fig} ${what}, latency: ` +
      pairs.map((p, i) =>
        `round ${i + 1} p99 ${fmt.ms(p.service.p99Ms)} / ${fmt.ms(p.ceiling.p99Ms)} = ${
          fmt.ratio(ratios[i]!)
        } (p50 ${fmt.ms(p.service.p50Ms)} / ${fmt.ms(p.ceiling.p50Ms)})`
      ).join("; "),
  );
}

export const staticTarget = (
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
export async function settle(proc: Proc, since = performance.now()): Promise<number> {
  const ready = await waitHealthy(proc, since, 25, "/health/ready", 600_000);
  await sleep(2000);
  return ready;
}

export async function settledRss(proc: Proc): Promise<number> {
  await settle(proc);
  return await rssMb(proc.pid);
}

/** A P6 row: `limitMb` is the target; `targeted` false reports the row for information. */
export function rssRow(
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
export const EMBEDDED_RSS_MB = 200;

// ---------------------------------------------------------------------------------------------

/** What the figures share: the stores, the real stores' environment, working directories. */
export interface Context {
  stores: BenchStores;
  realEnv: {
    products: Record<string, string>;
    inventory: (productsUrl: string) => Record<string, string>;
  };
  realDir: string;
  embeddedDir: string;
  helloRss?: number;
}

export function refRss(ctx: Context): string {
  return ctx.helloRss === undefined ? "—" : `${fmt.mb(ctx.helloRss)} (bare Deno.serve idle)`;
}
