import assert from "node:assert/strict";
import { z } from "zod";
import { assertJsonApi, jsonApiBody } from "../tests/support/jsonapi.ts";
import { createServiceApp } from "./service_app.ts";
import { DomainError } from "@stockroom/kernel";
import { JSONAPI_MEDIA_TYPE } from "./jsonapi.ts";
import { Metrics } from "@stockroom/runtime/metrics";
import { methodNotAllowed } from "./middleware/error_handler.ts";
import { jsonApiDocument } from "./validation.ts";
import { jsonApiResponse } from "./respond.ts";
import { memoryLogger } from "../tests/support/memory_logger.ts";

const KEY = "test-key-0123456789";

function testApp(options: { dbUp?: boolean } = {}) {
  const { logger, lines } = memoryLogger();
  const app = createServiceApp({
    logger,
    apiKey: KEY,
    openapi: { openapi: "3.1.0", info: { title: "Test", version: "1" }, paths: {} },
    metrics: new Metrics("test", { processMetrics: false }),
    health: {
      service: "test",
      checks: {
        db: () => options.dbUp === false ? Promise.reject(new Error("down")) : Promise.resolve(),
        slow: () => new Promise(() => {}),
      },
      optional: ["slow"],
      timeoutMs: 50,
    },
  });
  app.get(
    "/things",
    (c) => jsonApiResponse(c, 200, JSON.stringify({ data: [] })),
  );
  app.post(
    "/things",
    jsonApiDocument({ type: "things", attributes: z.strictObject({ n: z.number() }) }),
    (c) => {
      const input = c.req.valid("json");
      return jsonApiResponse(c, 201, JSON.stringify({ meta: { n: input.attributes.n } }));
    },
  );
  app.all("/things", methodNotAllowed(["GET", "POST"]));
  app.get("/boom", () => {
    throw new Error("secret internals");
  });
  app.get("/gone", () => {
    throw new DomainError("not_found", "thing_not_found", "No such thing", { hint: 1 });
  });
  return { app, lines };
}

const auth = { "X-API-Key": KEY };
const jsonapi = { ...auth, "Content-Type": JSONAPI_MEDIA_TYPE };

Deno.test("createServiceApp() echoes X-Request-ID on every kind of response", async () => {
  const { app } = testApp();
  const cases: [string, RequestInit][] = [
    ["/health", {}],
    ["/health/ready", {}],
    ["/openapi.json", {}],
    ["/docs", {}],
    ["/metrics", { headers: auth }],
    ["/things", { headers: auth }],
    ["/things", {}], // 401
    ["/things", { method: "DELETE", headers: auth }], // 405
    ["/nowhere", { headers: auth }], // 404
    ["/boom", { headers: auth }], // 500
    ["/things", { method: "POST", headers: { ...auth, "Content-Type": "text/plain" } }], // 415
  ];
  for (const [path, init] of cases) {
    const id = `rid-${path}-${init.method ?? "GET"}`;
    const res = await app.request(path, {
      ...init,
      headers: { ...init.headers as Record<string, string>, "X-Request-ID": id },
    });
    await res.body?.cancel();
    assert.equal(res.headers.get("X-Request-ID"), id, `${init.method ?? "GET"} ${path}`);
  }
});

Deno.test("createServiceApp() rejects a missing or wrong API key with 401", async () => {
  const { app } = testApp();
  const attempts: Record<string, string>[] = [{}, { "X-API-Key": "" }, {
    "X-API-Key": KEY.slice(0, -1) + "x",
  }];
  for (const headers of attempts) {
    const res = await app.request("/things", { headers });
    assert.equal(res.status, 401);
    const body = await jsonApiBody(res);
    assert.equal(body.errors[0].code, "unauthorized");
  }
  const ok = await app.request("/things", { headers: { "x-api-key": KEY } });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("createServiceApp() keeps a printable X-Request-ID and replaces a bad one", async () => {
  const { app, lines } = testApp();
  const kept = await app.request("/things", { headers: { ...auth, "X-Request-ID": "trace.1:2" } });
  assert.equal(kept.headers.get("X-Request-ID"), "trace.1:2");
  await kept.body?.cancel();
  const long = await app.request("/things", {
    headers: { ...auth, "X-Request-ID": "a".repeat(201) },
  });
  assert.match(long.headers.get("X-Request-ID")!, /^[0-9a-f-]{36}$/);
  await long.body?.cancel();
  const denied = await app.request("/things", { headers: { "X-Request-ID": "abc" } });
  assert.equal(denied.headers.get("X-Request-ID"), "abc", "errors carry the id too");
  await denied.body?.cancel();
  const access = lines().filter((l) => l.message === "request completed");
  assert.equal(access.length, 3);
  assert.deepEqual(
    access.map((l) => [l.request_id, l.method, l.path, l.status]),
    [["trace.1:2", "GET", "/things", 200], [
      long.headers.get("X-Request-ID"),
      "GET",
      "/things",
      200,
    ], ["abc", "GET", "/things", 401]],
  );
  for (const line of lines()) {
    assert.equal(line.service, "test");
    assert.match(String(line.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(["INFO", "WARN", "ERROR"].includes(String(line.level)));
    assert.ok(!JSON.stringify(line).includes(KEY), "the key is never logged");
  }
});

Deno.test("createServiceApp() answers 415 for a body that is not plain JSON:API", async () => {
  const { app } = testApp();
  for (
    const type of [
      undefined,
      "application/json",
      `${JSONAPI_MEDIA_TYPE}; charset=utf-8`,
      `${JSONAPI_MEDIA_TYPE}; ext="x"`,
    ]
  ) {
    const headers: Record<string, string> = { ...auth };
    if (type) headers["Content-Type"] = type;
    const res = await app.request("/things", {
      method: "POST",
      headers,
      body: '{"data":{"type":"things","attributes":{"n":1}}}',
    });
    assert.equal(res.status, 415, String(type));
    await jsonApiBody(res);
  }
  const profiled = await app.request("/things", {
    method: "POST",
    headers: { ...auth, "Content-Type": `${JSONAPI_MEDIA_TYPE}; profile="http://example.com/p"` },
    body: '{"data":{"type":"things","attributes":{"n":1}}}',
  });
  assert.equal(profiled.status, 201);
  await profiled.body?.cancel();
  const getWithType = await app.request("/things", {
    headers: { ...auth, "Content-Type": "text/plain" },
  });
  assert.equal(getWithType.status, 200, "a Content-Type on a GET is ignored");
  await getWithType.body?.cancel();
});

Deno.test("createServiceApp() answers 406 only when every JSON:API Accept entry has parameters", async () => {
  const { app } = testApp();
  const cases: [string, number][] = [
    [`${JSONAPI_MEDIA_TYPE}; charset=utf-8`, 406],
    [`${JSONAPI_MEDIA_TYPE}; ext="x", ${JSONAPI_MEDIA_TYPE}; foo=1`, 406],
    [`${JSONAPI_MEDIA_TYPE}; charset=utf-8, ${JSONAPI_MEDIA_TYPE}`, 200],
    [`${JSONAPI_MEDIA_TYPE}; q=0.9`, 200],
    ["application/json", 200],
    ["*/*", 200],
  ];
  for (const [accept, status] of cases) {
    const res = await app.request("/things", { headers: { ...auth, Accept: accept } });
    assert.equal(res.status, status, accept);
    if (status === 406) await jsonApiBody(res);
    else await res.body?.cancel();
  }
});

Deno.test("createServiceApp() answers 413 for a body over 1 MiB", async () => {
  const { app } = testApp();
  const res = await app.request("/things", {
    method: "POST",
    headers: jsonapi,
    body: JSON.stringify({
      data: { type: "things", attributes: { pad: "x".repeat(1024 * 1024) } },
    }),
  });
  assert.equal(res.status, 413);
  assert.equal((await jsonApiBody(res)).errors[0].code, "body_too_large");
});

Deno.test("jsonApiDocument() separates 400, 409 and 422", async () => {
  const { app } = testApp();
  const cases: [string, number, string?][] = [
    ["not json", 400, ""],
    ["[]", 400, ""],
    ['{"data":null}', 400, "/data"],
    ['{"data":[]}', 400, "/data"],
    ['{"data":{"attributes":{}}}', 400, "/data/type"],
    ['{"data":{"type":7}}', 400, "/data/type"],
    ['{"data":{"type":"things","id":5}}', 400, "/data/id"],
    ['{"data":{"type":"things","attributes":[1]}}', 400, "/data/attributes"],
    ['{"data":{"type":"others","attributes":{"n":1}}}', 409, "/data/type"],
    ['{"data":{"type":"things","attributes":{"n":"1"}}}', 422, "/data/attributes/n"],
    ['{"data":{"type":"things","attributes":{"n":1,"a/b":2}}}', 422, "/data/attributes/a~1b"],
    // A `__proto__` key is a key like any other: refused in attributes, never a way in elsewhere.
    [
      '{"data":{"type":"things","attributes":{"n":1,"__proto__":""}}}',
      422,
      "/data/attributes/__proto__",
    ],
    ['{"data":{"type":"things","__proto__":{"attributes":{"n":1}}}}', 422, "/data/attributes/n"],
    ['{"__proto__":{"data":{"type":"things","attributes":{"n":1}}}}', 400, "/data"],
    [
      '{"data":{"type":"things","attributes":{"n":1},"relationships":{}}}',
      422,
      "/data/relationships",
    ],
  ];
  const invalidUtf8 = new Uint8Array([
    ...new TextEncoder().encode('{"data":{"type":"things","attributes":{"n":1,"s":"'),
    0xff,
    ...new TextEncoder().encode('"}}}'),
  ]);
  const bad = await app.request("/things", { method: "POST", headers: jsonapi, body: invalidUtf8 });
  assert.equal(bad.status, 400, "invalid UTF-8 is refused, not stored as U+FFFD");
  assert.match((await jsonApiBody(bad)).errors[0].detail, /UTF-8/);
  for (const [body, status, pointer] of cases) {
    const res = await app.request("/things", { method: "POST", headers: jsonapi, body });
    assert.equal(res.status, status, body);
    const doc = await jsonApiBody(res);
    assert.equal(doc.errors[0].source?.pointer, pointer, body);
  }
});

Deno.test("createServiceApp() renders 404, 405 and domain errors as JSON:API", async () => {
  const { app } = testApp();
  const missing = await app.request("/nowhere", { headers: auth });
  assert.equal(missing.status, 404);
  await jsonApiBody(missing);
  const wrong = await app.request("/things", { method: "DELETE", headers: auth });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.headers.get("Allow"), "GET, POST");
  await jsonApiBody(wrong);
  const gone = await app.request("/gone", { headers: auth });
  assert.equal(gone.status, 404);
  const doc = await jsonApiBody(gone);
  assert.equal(doc.errors[0].code, "thing_not_found");
  assert.deepEqual(doc.errors[0].meta, { hint: 1 });
});

Deno.test("createServiceApp() hides an unexpected error behind a 500 with the request ID", async () => {
  const { app, lines } = testApp();
  const res = await app.request("/boom", { headers: { ...auth, "X-Request-ID": "req-500" } });
  assert.equal(res.status, 500);
  const doc = await jsonApiBody(res);
  assert.equal(doc.errors[0].meta.request_id, "req-500");
  assert.ok(doc.errors[0].detail.includes("req-500"));
  assert.ok(!JSON.stringify(doc).includes("secret internals"));
  const logged = lines().find((l) => l.message === "unhandled error");
  assert.ok(logged, "the error is logged");
  assert.equal(logged.request_id, "req-500");
  assert.match(JSON.stringify(logged.err), /secret internals/);
});

Deno.test("healthRoutes() needs no key and reports each dependency", async () => {
  const live = await testApp({ dbUp: false }).app.request("/health");
  assert.equal(live.status, 200, "liveness calls no dependency");
  assertJsonApi(await live.json());
  const down = await testApp({ dbUp: false }).app.request("/health/ready");
  assert.equal(down.status, 503);
  const downDoc = assertJsonApi(await down.json());
  assert.deepEqual(downDoc.meta.dependencies, { db: "down", slow: "down" });
  const degraded = await testApp().app.request("/health/ready");
  assert.equal(degraded.status, 200, "an optional dependency does not fail readiness");
  assert.equal((await degraded.json()).meta.status, "degraded");
});

Deno.test("createServiceApp() serves Prometheus metrics by route template, behind the key", async () => {
  const { app } = testApp();
  for (const path of ["/things", "/things", "/nowhere/1", "/nowhere/2"]) {
    await (await app.request(path, { headers: auth })).body?.cancel();
  }
  for (const method of ["BREW", "WHEN"]) {
    await (await app.request("/things", { method, headers: auth })).body?.cancel();
  }
  const open = await app.request("/metrics");
  assert.equal(open.status, 401);
  await open.body?.cancel();
  const res = await app.request("/metrics", { headers: auth });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/plain/);
  const text = await res.text();
  assert.match(
    text,
    /http_requests_total\{method="GET",route="\/things",status="200",service="test"\} 2/,
  );
  assert.match(
    text,
    /http_requests_total\{method="GET",route="unmatched",status="404",service="test"\} 2/,
  );
  assert.match(
    text,
    /http_request_duration_seconds_count\{[^}]*method="GET",route="\/things"[^}]*\} 2/,
  );
  // Methods outside the standard set share one series: clients cannot mint series at will.
  assert.match(text, /http_requests_total\{method="OTHER",route="\/things",status="405"[^}]*\} 2/);
  assert.doesNotMatch(text, /BREW|WHEN/);
});

Deno.test("healthRoutes() reports draining as 503 so balancers stop sending traffic", async () => {
  const { logger } = memoryLogger();
  const app = createServiceApp({
    logger,
    apiKey: KEY,
    openapi: {},
    metrics: new Metrics("test", { processMetrics: false }),
    health: { service: "test", checks: {}, draining: () => true },
  });
  const res = await app.request("/health/ready");
  assert.equal(res.status, 503);
  assert.equal((await res.json()).meta.status, "draining");
});
