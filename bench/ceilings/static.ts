/**
 * P1 ceiling: a bare Deno.serve answering every request with the bytes and headers (Content-Type,
 * X-Cache, X-Request-ID, …) captured from the service's cached `GET /products/{id}`. No routing,
 * no middleware, no logging: what Deno.serve alone can do on this machine.
 *
 * env: PORT, BENCH_RESPONSE_FILE (JSON: { status, headers, body }).
 */
interface Captured {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const captured: Captured = JSON.parse(
  await Deno.readTextFile(Deno.env.get("BENCH_RESPONSE_FILE")!),
);
const body = new TextEncoder().encode(captured.body);
const health = new TextEncoder().encode('{"meta":{"status":"ok"}}');

Deno.serve(
  { port: Number(Deno.env.get("PORT") ?? 8000), onListen: () => {} },
  (req) =>
    req.url.endsWith("/health")
      ? new Response(health)
      : new Response(body, { status: captured.status, headers: captured.headers }),
);
