import type { SqlClient } from "./sql_client.ts";

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
// Serializes concurrent start-ups of several instances against one database.
const LOCK_KEY = 7_346_001;

/** Applies every migrations/*.sql not yet recorded, in name order; safe to run on every start. */
export async function migrate(client: SqlClient): Promise<string[]> {
  await client.script(
    "CREATE TABLE IF NOT EXISTS schema_migrations (" +
      "version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
  );
  const files: string[] = [];
  for await (const entry of Deno.readDir(MIGRATIONS_DIR)) {
    if (entry.isFile && entry.name.endsWith(".sql")) files.push(entry.name);
  }
  files.sort();
  const applied = new Set(
    (await client.query<{ version: string }>("SELECT version FROM schema_migrations"))
      .map((r) => r.version),
  );
  const done: string[] = [];
  for (const file of files) {
    const version = file.replace(/\.sql$/, "");
    if (applied.has(version)) continue;
    const body = await Deno.readTextFile(new URL(file, MIGRATIONS_DIR));
    // One script = one implicit transaction; the lock makes racing instances take turns, and the
    // files are written to be idempotent, so the loser re-applies nothing harmful.
    await client.script(
      `SELECT pg_advisory_xact_lock(${LOCK_KEY});\n${body}\n` +
        `INSERT INTO schema_migrations (version) VALUES ('${version.replaceAll("'", "''")}') ` +
        "ON CONFLICT (version) DO NOTHING;",
    );
    done.push(version);
  }
  return done;
}
