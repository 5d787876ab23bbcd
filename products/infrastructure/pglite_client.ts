import { PGlite } from "@electric-sql/pglite";
import { releaseMemory } from "@stockroom/runtime/memory";
import type { SqlClient } from "./sql_client.ts";

/**
 * PostgreSQL sizes its buffer pool for a server (shared_buffers = 128MB), and PGlite touches all of
 * it inside its WASM memory, which never shrinks. 16 MB holds this service's working set with room
 * to spare: resident WASM memory ~150 → ~30 MB, point selects unchanged (measured up to 100,000
 * rows; a full scan of a table larger than the pool is up to 1.8× slower).
 */
const START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"];

/** Quiet time after the last statement before memory is handed back (see releaseMemory). */
const RELEASE_AFTER_IDLE_MS = 1000;
/** A burst smaller than this (a readiness probe's `SELECT 1`) is not worth a full GC. */
const RELEASE_AFTER_STATEMENTS = 20;

/**
 * Embedded PostgreSQL (WASM). `dataDir` persists to disk; without it the database lives in memory.
 * PGlite runs one statement at a time, so concurrent requests queue inside it. With a `dataDir`
 * (the running service), memory is handed back once the start-up, or a burst of statements, is
 * over; in memory (tests) nothing is scheduled.
 */
export async function pgliteClient(dataDir?: string): Promise<SqlClient> {
  if (dataDir) await Deno.mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir, { startParams: START_PARAMS });
  const idle = dataDir ? afterBursts(releaseMemory) : undefined;
  // The start-up itself is the largest burst: always release after it.
  idle?.touch(RELEASE_AFTER_STATEMENTS);
  return {
    async query<T>(text: string, params: unknown[] = []) {
      idle?.touch();
      const result = await db.query<T>(text, params);
      return result.rows;
    },
    async script(text: string) {
      idle?.touch();
      await db.exec(text);
    },
    async close() {
      idle?.stop();
      await db.close();
    },
  };
}

/** Calls `release` once a burst of at least RELEASE_AFTER_STATEMENTS touches has gone quiet. */
function afterBursts(release: () => void) {
  let last = 0;
  let count = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (ms: number) => {
    timer = setTimeout(check, ms);
    Deno.unrefTimer(timer as unknown as number);
  };
  const check = () => {
    const wait = last + RELEASE_AFTER_IDLE_MS - Date.now();
    if (wait > 0) return arm(wait);
    timer = undefined;
    if (count >= RELEASE_AFTER_STATEMENTS) release();
    count = 0;
  };
  return {
    touch(weight = 1) {
      last = Date.now();
      count += weight;
      if (timer === undefined) arm(RELEASE_AFTER_IDLE_MS);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
