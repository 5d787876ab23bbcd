import postgres from "postgres";
import type { SqlClient } from "./sql_client.ts";

export interface PostgresClientOptions {
  max?: number;
  connectTimeoutSeconds?: number;
  /** A schema to work in instead of `public`; tests use one each to run in parallel. */
  schema?: string;
}

/** postgres.js behind `SqlClient`; statements are prepared once per connection and reused. */
export function postgresClient(url: string, options: PostgresClientOptions = {}): SqlClient {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 60,
    onnotice: () => {},
    ...(options.schema ? { connection: { search_path: options.schema } } : {}),
    // NUMERIC and timestamps are formatted in SQL, so no driver-side type parsing is relied on.
  });
  return {
    async query<T>(text: string, params: unknown[] = []) {
      // deno-lint-ignore no-explicit-any
      const rows = await sql.unsafe(text, params as any[], { prepare: true });
      return rows as unknown as T[];
    },
    async script(text: string) {
      await sql.unsafe(text).simple();
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
