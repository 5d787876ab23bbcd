/**
 * P2 ceiling: a bare Deno.serve doing the products repository's point select through postgres.js
 * (same SELECT text, prepared, same pool settings as the service), answering with the same document
 * and headers the service sends. No routing framework, middleware, validation or logging.
 *
 * env: PORT, DATABASE_URL.
 */
import postgres from "postgres";

// The same statement as products/infrastructure/sql_product_repository.ts findById().
const COLUMNS = `id, name, description, price::text AS price,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at`;
const SELECT = `SELECT ${COLUMNS} FROM products WHERE id = $1`;

const sql = postgres(Deno.env.get("DATABASE_URL")!, {
  max: 10,
  connect_timeout: 5,
  idle_timeout: 0,
  // As the service: pipelining makes postgres.js slow down under sustained load (see
  // products/infrastructure/postgres_client.ts), and the ceiling should be the driver at its best.
  // Read by postgres.js (src/index.js) but missing from its type declarations.
  ...{ max_pipeline: 1 } as object,
  onnotice: () => {},
});
const headers = { "Content-Type": "application/vnd.api+json" };
// The service's answer carries these too; the P1 ceiling sends them as captured, and so does this
// one (constant values: no generation, as the ceiling does no request-id work).
const answerHeaders = {
  ...headers,
  "X-Cache": "MISS",
  "X-Request-ID": "00000000-0000-4000-8000-000000000000",
};
const JSONAPI = { version: "1.1" };

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000), onListen: () => {} }, async (req) => {
  const id = req.url.slice(req.url.lastIndexOf("/") + 1);
  if (id === "health") return new Response('{"meta":{"status":"ok"}}', { headers });
  const rows = await sql.unsafe(SELECT, [id], { prepare: true });
  const row = rows[0];
  if (!row) return new Response('{"errors":[{"status":"404"}]}', { status: 404, headers });
  // The same document the service answers with (same bytes), built the plainest way.
  const self = `${req.url.slice(0, req.url.indexOf("/", 8))}/products/${id}`;
  return new Response(
    JSON.stringify({
      jsonapi: JSONAPI,
      data: {
        type: "products",
        id,
        attributes: {
          name: row.name,
          description: row.description,
          price: Number(row.price),
          created_at: row.created_at,
          updated_at: row.updated_at,
        },
        links: { self },
      },
      links: { self },
    }),
    { headers: answerHeaders },
  );
});
