import { migrate } from "../../products/infrastructure/migrate.ts";
import { pgliteClient } from "../../products/infrastructure/pglite_client.ts";
import { postgresClient } from "../../products/infrastructure/postgres_client.ts";
import type { SqlClient } from "../../products/infrastructure/sql_client.ts";

export interface TestDatabase {
  name: string;
  sql: SqlClient;
  /** Empties the products table between tests. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** The real PostgreSQL from DATABASE_URL, when set; tests that need it are skipped otherwise. */
export const DATABASE_URL: string | undefined = Deno.env.get("DATABASE_URL") || undefined;

/** An in-memory PGlite with the migrations applied. */
export async function openPglite(): Promise<TestDatabase> {
  const sql = await pgliteClient();
  await migrate(sql);
  return {
    name: "pglite",
    sql,
    reset: () => sql.script("DELETE FROM products"),
    close: () => sql.close(),
  };
}

/**
 * A private schema in the PostgreSQL at DATABASE_URL, so test files running in parallel never see
 * each other's rows; dropped on close.
 */
export async function openPostgres(): Promise<TestDatabase> {
  if (!DATABASE_URL) throw new Error("DATABASE_URL is not set");
  const schema = `test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgresClient(DATABASE_URL, { max: 1 });
  await admin.script(`CREATE SCHEMA ${schema}`);
  const sql = postgresClient(DATABASE_URL, { schema });
  await migrate(sql);
  return {
    name: "postgresql",
    sql,
    reset: () => sql.script("DELETE FROM products"),
    async close() {
      await sql.close();
      await admin.script(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}
