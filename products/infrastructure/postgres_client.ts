import postgres from "postgres";
import { STATEMENT_TIMEOUT_MS } from "./postgres_failures.ts";
import type { SqlClient } from "./sql_client.ts";

export interface PostgresClientOptions {
  max?: number;
  connectTimeoutSeconds?: number;
  /** A schema to work in instead of `public`; tests use one each to run in parallel. */
  schema?: string;
}

/**
 * postgres.js behind `SqlClient`; statements are prepared once per connection and reused, and
 * PostgreSQL aborts any that runs past `statement_timeout`. Errors are the driver's own:
 * `guardStore` with `postgresFailure` bounds and classifies the calls.
 */
export function postgresClient(url: string, options: PostgresClientOptions = {}): SqlClient {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    // Connections are kept while the service runs (postgres.js's default; it still replaces each
    // after its max_lifetime of 30–60 min). Speed trick: an idle timeout is a timer set each time a
    // connection goes idle and cleared when the next query takes it, and admission control (limit =
    // pool size) makes every query of a busy pool do both: node timers were 3 % of an uncached
    // read's busy time. With DeadlineGroup's queue (kernel/deadline.ts), timers, deadlines and
    // garbage collection fell from 17 % to 8 % of it (CPU profiles, wrk -t1 -c50, 2026-12-02);
    // P2's wrk rounds are too noisy on this VM to show it (0.59 before, 0.60 after).
    idle_timeout: 0,
    // One query at a time per connection. With pipelining (the default, up to 100), postgres.js's
    // connection queues gather a hole per pipelined query and only compact when they drain, so
    // under sustained load every query pays a linear scan of a growing array: measured, 20.7k →
    // 14.5k req/s over 24 s of uncached reads, against a steady 22k without pipelining.
    // Read by postgres.js (src/index.js) but missing from its type declarations.
    ...{ max_pipeline: 1 } as object,
    onnotice: () => {},
    // Reconnect quickly once the database is back: the default backoff grows to 20 s across the
    // pool, which kept the service failing for seconds after an outage ended.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    connection: {
      statement_timeout: STATEMENT_TIMEOUT_MS,
      ...(options.schema ? { search_path: options.schema } : {}),
    },
    // NUMERIC and timestamps are formatted in SQL, so no driver-side type parsing is relied on.
  });
  return {
    async query<T>(text: string, params: unknown[] = []) {
      // deno-lint-ignore no-explicit-any
      return await sql.unsafe(text, params as any[], { prepare: true }) as unknown as T[];
    },
    async script(text: string) {
      await sql.unsafe(text).simple();
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
