/**
 * P1 ceiling: a bare Deno.serve answering every request with the bytes and headers (Content-Type,
 * X-Cache, X-Request-ID, …) captured from the service's cached `GET /products/{id}`. No routing,
 * no middleware, no logging: what Deno.serve alone can do on this machine.
 *
 * env: PORT, BENCH_RESPONSE_FILE (JSON: { status, headers, body }).
 */
import { readCaptured } from "./captured.ts";

const captured = await readCaptured();

// The body as a string, as the service sends it: on Deno 2.9.6 the same bytes as a Uint8Array cost
// the server about 14 % more CPU per request (median of 12 alternating wrk -t1 rounds, session 8),
// and the ceiling answered with that slower form before abf11aa.
const body = captured.body;
const health = '{"meta":{"status":"ok"}}';

Deno.serve(
  { port: Number(Deno.env.get("PORT") ?? 8000), onListen: () => {} },
  (req) =>
    req.url.endsWith("/health")
      ? new Response(health)
      : new Response(body, { status: captured.status, headers: captured.headers }),
);
