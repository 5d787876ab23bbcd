/**
 * P5 ceiling: the smallest Deno.serve that answers `GET /health` like the services do. Cold start
 * is measured from spawning `deno run` to the first 200 on /health.
 */
const body = new TextEncoder().encode(JSON.stringify({ meta: { status: "ok", service: "hello" } }));
const headers = { "Content-Type": "application/vnd.api+json" };

Deno.serve(
  { port: Number(Deno.env.get("PORT") ?? 8000), onListen: () => {} },
  () => new Response(body, { headers }),
);
