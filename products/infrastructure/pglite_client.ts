import { PGlite } from "@electric-sql/pglite";
import type { SqlClient } from "./sql_client.ts";

/**
 * Embedded PostgreSQL (WASM). `dataDir` persists to disk; without it the database lives in memory.
 * PGlite runs one statement at a time, so concurrent requests queue inside it.
 */
export async function pgliteClient(dataDir?: string): Promise<SqlClient> {
  if (dataDir) await Deno.mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  return {
    async query<T>(text: string, params: unknown[] = []) {
      const result = await db.query<T>(text, params);
      return result.rows;
    },
    async script(text: string) {
      await db.exec(text);
    },
    async close() {
      await db.close();
    },
  };
}
