import assert from "node:assert/strict";
import postgres from "postgres";
import { MongoClient } from "mongodb";
import { type LogLine, type RunningService, startService } from "../e2e/services.ts";

/**
 * Shared support for the reliability suite: which backends are set, a private PostgreSQL database
 * and MongoDB database per case, services as processes with a per-run API key, raw HTTP calls
 * that never throw, bounded load loops and figures.
 */

const BACKEND_VARS = [
  "DATABASE_URL",
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "MONGODB_URL",
] as const;

export const missingBackends = BACKEND_VARS.filter((name) => !Deno.env.get(name));
/** Every case is ignored unless all real stores are configured (CI always sets them). */
export const ignore = missingBackends.length > 0;
if (ignore) {
  console.warn(
    `reliability suite ignored: ${missingBackends.join(", ")} not set ` +
      `(run: eval "$(scripts/test-backends.sh)"; deno task test:reliability)`,
  );
}

export const JSONAPI = "application/vnd.api+json";

/** RELIABILITY_ONLY=word,word runs only the steps whose names contain one of the words. */
export function skipStep(name: string): boolean {
  const only = Deno.env.get("RELIABILITY_ONLY");
  if (!only) return false;
  return !only.split(",").some((w) => name.toLowerCase().includes(w.trim().toLowerCase()));
}

export function hex(bytes = 6): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16))
    .map((h) => h.padStart(2, "0")).join("");
}

/** A key per run, long and random, so a search of the logs for it cannot meet it by chance. */
export const API_KEY = `rel-key-${hex(16)}`;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One line per case: the figures it measured. */
export function figures(name: string, values: Record<string, unknown>): void {
  const parts = Object.entries(values).map(([k, v]) =>
    `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`
  );
  console.log(`[reliability] ${name}: ${parts.join(" ")}`);
}

// ---------------------------------------------------------------------------------------------
// Stores: a PostgreSQL database and a MongoDB database of their own for each case.

export interface Stores {
  tag: string;
  /** DATABASE_URL of the private database. */
  databaseUrl: string;
  pgHost: string;
  pgPort: number;
  mongoUrl: string;
  mongoHost: string;
  mongoPort: number;
  mongoDb: string;
  upstashUrl: string;
  upstashToken: string;
  upstashHost: string;
  upstashPort: number;
  /** Direct SQL on the private database (for checks after a service has stopped). */
  sql: postgres.Sql;
  mongo: MongoClient;
  drop(): Promise<void>;
}

export async function createStores(tag: string): Promise<Stores> {
  const base = new URL(Deno.env.get("DATABASE_URL")!);
  const name = `stockroom_rel_${tag}_${hex(4)}`;
  const admin = postgres(base.href, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(base.href);
  url.pathname = `/${name}`;
  const sql = postgres(url.href, { max: 2, onnotice: () => {} });

  const mongoUrl = Deno.env.get("MONGODB_URL")!;
  const mongoDb = `rel_${tag}_${hex(4)}`;
  const mongo = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5000 });
  await mongo.connect();
  const mongoParsed = new URL(mongoUrl);
  const upstash = new URL(Deno.env.get("UPSTASH_REDIS_REST_URL")!);

  let dropped = false;
  return {
    tag,
    databaseUrl: url.href,
    pgHost: base.hostname,
    pgPort: Number(base.port || 5432),
    mongoUrl,
    mongoHost: mongoParsed.hostname,
    mongoPort: Number(mongoParsed.port || 27017),
    mongoDb,
    upstashUrl: upstash.href.replace(/\/$/, ""),
    upstashToken: Deno.env.get("UPSTASH_REDIS_REST_TOKEN")!,
    upstashHost: upstash.hostname,
    upstashPort: Number(upstash.port || (upstash.protocol === "https:" ? 443 : 80)),
    sql,
    mongo,
    async drop() {
      if (dropped) return;
      dropped = true;
      await sql.end({ timeout: 5 }).catch(() => {});
      await mongo.db(mongoDb).dropDatabase().catch(() => {});
      await mongo.close().catch(() => {});
      const admin = postgres(base.href, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end({ timeout: 5 });
      }
    },
  };
}

/** Replaces host and port of a URL (to point a service at a fault proxy). */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(port);
  return u.href.replace(/\/$/, "");
}

export function productsEnv(stores: Stores, extra: Record<string, string> = {}) {
  return {
    API_KEY,
    DATABASE_URL: stores.databaseUrl,
    UPSTASH_REDIS_REST_URL: stores.upstashUrl,
    UPSTASH_REDIS_REST_TOKEN: stores.upstashToken,
    ...extra,
  };
}

export function inventoryEnv(
  stores: Stores,
  productsUrl: string,
  extra: Record<string, string> = {},
) {
  return {
    API_KEY,
    MONGODB_URL: stores.mongoUrl,
    MONGODB_DB: stores.mongoDb,
    PRODUCTS_SERVICE_URL: productsUrl,
    ...extra,
  };
}

export { type LogLine, type RunningService, startService };

/** Two inventory instances on the same stores, started together (both or neither). */
export async function startInventoryPair(
  stores: Stores,
  productsUrl: string,
  extra: Record<string, string> = {},
): Promise<[RunningService, RunningService]> {
  const started = await Promise.allSettled([
    startService("inventory", inventoryEnv(stores, productsUrl, extra)),
    startService("inventory", inventoryEnv(stores, productsUrl, extra)),
  ]);
  const ok = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await stopAll(ok).catch(() => {});
    throw failed.reason;
  }
  return ok as [RunningService, RunningService];
}

/** Stops every service (each asserts a graceful exit 0) and reports the first failure. */
export async function stopAll(services: (RunningService | undefined)[]): Promise<void> {
  const results = await Promise.allSettled(services.map((s) => s?.stop()));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * No log line of any process contains any of the secrets. Lines are written in batches at least
 * every 100 ms, so it first waits long enough for the last requests' lines to be out.
 */
export async function assertNoSecretsInLogs(
  services: (RunningService | undefined)[],
  secrets: string[],
): Promise<number> {
  await sleep(500);
  let lines = 0;
  for (const service of services) {
    if (!service) continue;
    for (const line of service.logs()) {
      lines++;
      const text = JSON.stringify(line);
      for (const secret of secrets) {
        assert.ok(
          !text.includes(secret),
          `${service.name} logged a secret (${secret.slice(0, 6)}…): ${text.slice(0, 500)}`,
        );
      }
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface CallOptions {
  method?: string;
  /** An object is sent as JSON with Content-Type application/vnd.api+json. */
  body?: unknown;
  headers?: Record<string, string>;
  /** `null` sends no X-API-Key at all. */
  key?: string | null;
  timeoutMs?: number;
}

export interface CallResult {
  method: string;
  path: string;
  /** 0 when the request failed at the network level. */
  status: number;
  headers: Headers;
  text: string;
  // deno-lint-ignore no-explicit-any
  doc: any;
  started: number;
  ended: number;
  ms: number;
  error?: string;
}

/** One HTTP request; never throws, always consumes the body. */
export async function call(
  base: string,
  path: string,
  options: CallOptions = {},
): Promise<CallResult> {
  const method = options.method ?? "GET";
  const headers = new Headers(options.headers);
  if (options.key !== null && !headers.has("x-api-key")) {
    headers.set("X-API-Key", options.key ?? API_KEY);
  }
  let body: BodyInit | undefined;
  if (
    typeof options.body === "string" || options.body instanceof Uint8Array ||
    options.body instanceof ReadableStream
  ) {
    body = options.body as BodyInit;
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("Content-Type", JSONAPI);
  }
  const started = Date.now();
  const t0 = performance.now();
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let doc: unknown = undefined;
    try {
      doc = text ? JSON.parse(text) : undefined;
    } catch { /* not JSON: the caller decides whether that is wrong */ }
    return {
      method,
      path,
      status: res.status,
      headers: res.headers,
      text,
      doc,
      started,
      ended: Date.now(),
      ms: performance.now() - t0,
    };
  } catch (err) {
    return {
      method,
      path,
      status: 0,
      headers: new Headers(),
      text: "",
      doc: undefined,
      started,
      ended: Date.now(),
      ms: performance.now() - t0,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    };
  }
}

/** Describes a response for assertion messages. */
export function show(r: CallResult): string {
  return `${r.method} ${r.path.slice(0, 120)} → ${r.status}${r.error ? ` (${r.error})` : ""} ` +
    `${Math.round(r.ms)} ms ${r.text.slice(0, 300)}`;
}

/** Why `r` is not a JSON:API error document with its own status, or null when it is one. */
export function errorDocumentProblem(r: CallResult): string | null {
  if (r.headers.get("content-type") !== JSONAPI) {
    return `Content-Type is ${r.headers.get("content-type")}`;
  }
  const errors = r.doc?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return "no errors array";
  for (const e of errors) {
    if (typeof e !== "object" || e === null) return "an error is not an object";
    if (e.status !== String(r.status)) return `error status ${e.status} ≠ ${r.status}`;
    if (typeof e.code !== "string" || typeof e.title !== "string") {
      return "error without code/title";
    }
  }
  if (r.doc.data !== undefined) return "an error document with data";
  return null;
}

export function assertErrorDocument(r: CallResult): void {
  const problem = errorDocumentProblem(r);
  assert.equal(problem, null, `not a JSON:API error document (${problem}): ${show(r)}`);
}

export function assertStatus(r: CallResult, expected: number): void {
  assert.equal(r.status, expected, show(r));
}

export const product = (
  name: string,
  price = 10,
  id?: string,
) => ({
  data: {
    type: "products",
    ...(id ? { id } : {}),
    attributes: { name, description: "reliability", price },
  },
});

export async function createProduct(base: string, name: string, price = 10): Promise<string> {
  const r = await call(base, "/products", { method: "POST", body: product(name, price) });
  assertStatus(r, 201);
  return r.doc.data.id;
}

export async function createStock(base: string, productId: string, quantity: number) {
  const r = await call(base, "/inventory", {
    method: "POST",
    body: { data: { type: "inventory", attributes: { product_id: productId, quantity } } },
  });
  assertStatus(r, 201);
}

export function adjust(productId: string, delta: number) {
  return {
    data: { type: "inventory", id: productId, attributes: { quantity_delta: delta } },
  };
}

export async function quantityOf(base: string, productId: string): Promise<number> {
  const r = await call(base, `/inventory/${productId}`);
  assertStatus(r, 200);
  return r.doc.data.attributes.quantity;
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Every page of a collection (page size 100), as resource objects. */
// deno-lint-ignore no-explicit-any
export async function listAll(base: string, path: string): Promise<any[]> {
  // deno-lint-ignore no-explicit-any
  const all: any[] = [];
  for (let page = 1; page < 1000; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const r = await call(base, `${path}${sep}page[number]=${page}&page[size]=100`);
    assertStatus(r, 200);
    all.push(...r.doc.data);
    if (r.doc.data.length < 100) break;
  }
  return all;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function countBy<T>(items: T[], key: (item: T) => string | number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const k = String(key(item));
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}
