/**
 * P1 reference: the framework's floor. A one-route Hono app answering `GET /products/{id}` with the
 * bytes and headers captured from the service's cached read, as static.ts does, through `c.body`
 * as the service's routes do. No middleware: what Hono itself costs over a bare Deno.serve.
 *
 * env: PORT, BENCH_RESPONSE_FILE (JSON: { status, headers, body }).
 */
import { Hono } from "hono";
import { readCaptured } from "./captured.ts";

const captured = await readCaptured();

const app = new Hono();
app.get("/health", (c) => c.json({ meta: { status: "ok" } }));
app.get("/products/:id", (c) => c.body(captured.body, captured.status as 200, captured.headers));

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000), onListen: () => {} }, app.fetch);
