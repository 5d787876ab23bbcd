/**
 * The real stores: the URLs from scripts/test-backends.sh (run here unless they are all already in
 * the environment), and a PostgreSQL database and a MongoDB database of this run's own
 * (`stockroom_bench_<pid>`), so the bench neither sees nor disturbs the test suites that share the
 * servers. Both are dropped at the end; ones left by a bench that died are dropped at the next
 * start (their pid is no longer running).
 */
import postgres from "postgres";
import { MongoClient } from "mongodb";
import { REPO, run } from "./procs.ts";

export interface Backends {
  DATABASE_URL: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  MONGODB_URL: string;
  /** Where they came from, for the report. */
  source: string;
}

const NEEDED = [
  "DATABASE_URL",
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "MONGODB_URL",
] as const;

export async function backends(): Promise<Backends> {
  const fromEnv = Object.fromEntries(NEEDED.map((n) => [n, Deno.env.get(n) ?? ""]));
  if (NEEDED.every((n) => fromEnv[n])) {
    return { ...fromEnv, source: "environment" } as unknown as Backends;
  }
  // Idempotent: starts only what is not running yet; fails if a backend cannot be brought up.
  const { stdout } = await run("bash", [`${REPO}scripts/test-backends.sh`]);
  const found: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const m = line.match(/^export ([A-Z_]+)=(.*)$/);
    if (m) found[m[1]!] = m[2]!.replace(/^'(.*)'$/, "$1");
  }
  for (const n of NEEDED) {
    if (!found[n]) throw new Error(`scripts/test-backends.sh printed no ${n}`);
  }
  return { ...found, source: "scripts/test-backends.sh" } as unknown as Backends;
}

const PREFIX = "stockroom_bench_";

function stale(name: string): boolean {
  const pid = Number(name.slice(PREFIX.length));
  if (!Number.isInteger(pid) || pid === Deno.pid) return false;
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch {
    return true;
  }
}

export interface BenchStores {
  /** DATABASE_URL naming this run's database on the same server. */
  databaseUrl: string;
  mongoDb: string;
  /** Inserts `count` products straight into the products table; returns their ids. */
  seedProducts(count: number): Promise<string[]>;
  drop(): Promise<void>;
}

export async function createBenchStores(b: Backends): Promise<BenchStores> {
  const name = `${PREFIX}${Deno.pid}`;
  const admin = postgres(b.DATABASE_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const existing = await admin<{ datname: string }[]>`
      SELECT datname FROM pg_database WHERE datname LIKE ${PREFIX + "%"}`;
    for (const { datname } of existing) {
      if (stale(datname)) await admin.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(b.DATABASE_URL);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();

  const mongo = new MongoClient(b.MONGODB_URL, { serverSelectionTimeoutMS: 5000 });
  try {
    await mongo.connect();
    const { databases } = await mongo.db("admin").admin().listDatabases({ nameOnly: true });
    for (const { name: db } of databases) {
      if (db.startsWith(PREFIX) && (stale(db) || db === name)) await mongo.db(db).dropDatabase();
    }
  } finally {
    await mongo.close();
  }

  return {
    databaseUrl,
    mongoDb: name,
    async seedProducts(count) {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql<{ id: string }[]>`
          INSERT INTO products (id, name, description, price)
          SELECT gen_random_uuid()::text, 'bench product ' || g, 'seeded by bench/run.ts', 9.99
          FROM generate_series(1, ${count}::int) AS g
          RETURNING id`;
        return rows.map((r) => r.id);
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
    async drop() {
      const errors: unknown[] = [];
      const admin = postgres(b.DATABASE_URL, { max: 1, onnotice: () => {} });
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch((e) =>
        errors.push(e)
      );
      await admin.end({ timeout: 5 });
      const mongo = new MongoClient(b.MONGODB_URL, { serverSelectionTimeoutMS: 5000 });
      try {
        await mongo.connect();
        await mongo.db(name).dropDatabase();
      } catch (e) {
        errors.push(e);
      } finally {
        await mongo.close();
      }
      if (errors.length) throw new AggregateError(errors, "dropping the bench databases failed");
    },
  };
}
