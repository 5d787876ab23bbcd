import assert from "node:assert/strict";
import { Hono } from "hono";
import type { Context } from "hono";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../api_error.ts";
import { memoryLogger } from "../../tests/support/memory_logger.ts";
import { accessLog, type AccessLogOptions } from "./access_log.ts";
import { errorHandler, notFoundHandler } from "./error_handler.ts";
import { requestId } from "./request_id.ts";

const ACCESS = "request completed";

function testApp(options: AccessLogOptions = {}) {
  const { logger, lines } = memoryLogger();
  const app = new Hono<AppEnv>();
  app.onError(errorHandler());
  app.notFound(notFoundHandler());
  app.use(requestId(), accessLog(logger, options));
  app.get("/ok", (c) => c.text("ok", 200));
  app.post("/things", (c) => c.body(null, 201));
  app.get("/denied", () => {
    throw new ApiError(401, { code: "unauthorized", detail: "No" });
  });
  app.get("/unavailable", () => {
    throw new ApiError(503, { code: "store_unavailable", detail: "The store is unavailable" });
  });
  app.get("/boom", () => {
    throw new Error("secret internals");
  });
  app.get("/talk", (c) => {
    const log = c.get("logger");
    log.info({ step: 1 }, "handler info");
    log.warn({ step: 2 }, "handler warn");
    log.error({ step: 3 }, "handler error");
    return c.text("ok", 200);
  });
  app.get("/slow", async (c) => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    return c.text("ok", 200);
  });
  const accessLines = () => lines().filter((l) => l.message === ACCESS);
  return { app, lines, accessLines };
}

async function send(app: Hono<AppEnv>, path: string, init: RequestInit = {}): Promise<Response> {
  const res = await app.request(path, init);
  await res.body?.cancel();
  return res;
}

Deno.test("accessLog() writes one access line with request_id, method, path, status and duration_ms", async () => {
  const { app, lines } = testApp();
  await send(app, "/ok?page[size]=2", { headers: { "X-Request-ID": "trace.1:2" } });
  const all = lines();
  assert.equal(all.length, 1, "a request that logs nothing else gets its access line alone");
  const line = all[0]!;
  assert.equal(line.message, ACCESS);
  assert.equal(line.level, "INFO");
  assert.equal(line.service, "test");
  assert.equal(line.request_id, "trace.1:2");
  assert.equal(line.method, "GET");
  assert.equal(line.path, "/ok", "the query string is not logged");
  assert.equal(line.status, 200);
  assert.equal(typeof line.duration_ms, "number");
  assert.ok((line.duration_ms as number) >= 0);
});

Deno.test("accessLog() writes exactly one access line per request", async () => {
  const { app, accessLines } = testApp();
  const requests: [string, RequestInit][] = [
    ["/ok", {}],
    ["/things", { method: "POST" }],
    ["/boom", {}],
    ["/nowhere", {}],
    ["/ok", {}],
  ];
  for (const [index, [path, init]] of requests.entries()) {
    await send(app, path, { ...init, headers: { "X-Request-ID": `r${index}` } });
  }
  assert.deepEqual(
    accessLines().map((l) => [l.request_id, l.method, l.path]),
    [["r0", "GET", "/ok"], ["r1", "POST", "/things"], ["r2", "GET", "/boom"], [
      "r3",
      "GET",
      "/nowhere",
    ], ["r4", "GET", "/ok"]],
  );
});

Deno.test("accessLog() logs 5xx at ERROR and every other status at INFO", async () => {
  const { app, accessLines } = testApp();
  const cases: [string, string, number, string][] = [
    ["GET", "/ok", 200, "INFO"],
    ["POST", "/things", 201, "INFO"],
    ["GET", "/denied", 401, "INFO"],
    ["GET", "/nowhere", 404, "INFO"],
    ["GET", "/boom", 500, "ERROR"],
    ["GET", "/unavailable", 503, "ERROR"],
  ];
  for (const [method, path, status] of cases) {
    assert.equal((await send(app, path, { method })).status, status, path);
  }
  assert.deepEqual(
    accessLines().map((l) => [l.method, l.path, l.status, l.level]),
    cases,
    "the status is the one the error handler rendered",
  );
});

Deno.test('accessLog() binds request_id on the lines a handler writes through c.get("logger")', async () => {
  const { app, lines } = testApp();
  await send(app, "/talk", { headers: { "X-Request-ID": "talk-1" } });
  assert.deepEqual(
    lines().map((l) => [l.level, l.message, l.request_id, l.step]),
    [
      ["INFO", "handler info", "talk-1", 1],
      ["WARN", "handler warn", "talk-1", 2],
      ["ERROR", "handler error", "talk-1", 3],
      ["INFO", ACCESS, "talk-1", undefined],
    ],
  );
  for (const line of lines()) assert.equal(line.service, "test");
});

Deno.test("accessLog() calls onComplete once per request with the duration it logs", async () => {
  const calls: { path: string; status: number; durationMs: number }[] = [];
  const { app, accessLines } = testApp({
    onComplete: (c: Context<AppEnv>, durationMs: number) =>
      void calls.push({ path: c.req.path, status: c.res.status, durationMs }),
  });
  await send(app, "/slow");
  await send(app, "/boom");
  assert.deepEqual(calls.map((call) => [call.path, call.status]), [["/slow", 200], [
    "/boom",
    500,
  ]]);
  const slow = calls[0]!;
  assert.ok(slow.durationMs >= 25, `the duration covers the handler: ${slow.durationMs} ms`);
  const logged = accessLines().map((l) => l.duration_ms);
  assert.deepEqual(
    logged,
    calls.map((call) => Math.round(call.durationMs * 100) / 100),
    "one clock for the callback and the access line",
  );
});
