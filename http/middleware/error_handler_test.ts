import assert from "node:assert/strict";
import { Hono } from "hono";
import { DomainError, type DomainErrorKind } from "@stockroom/kernel";
import { LazyRequestLogger } from "@stockroom/runtime/logger";
import type { AppEnv } from "../env.ts";
import { ApiError } from "../api_error.ts";
import { jsonApiBody } from "../../tests/support/jsonapi.ts";
import { memoryLogger } from "../../tests/support/memory_logger.ts";
import { errorHandler, methodNotAllowed, notFoundHandler, toApiError } from "./error_handler.ts";
import { requestId } from "./request_id.ts";

const KINDS: [DomainErrorKind, number, string][] = [
  ["not_found", 404, "Not Found"],
  ["conflict", 409, "Conflict"],
  ["invalid", 422, "Unprocessable Content"],
  ["precondition_failed", 412, "Precondition Failed"],
  ["unavailable", 503, "Service Unavailable"],
  ["overloaded", 503, "Service Unavailable"],
  ["outcome_unknown", 504, "Gateway Timeout"],
];

function testApp(options: { withLogger?: boolean } = {}) {
  const { logger, lines } = memoryLogger();
  const app = new Hono<AppEnv>();
  app.onError(errorHandler());
  app.notFound(notFoundHandler());
  app.use(requestId());
  if (options.withLogger !== false) {
    // What accessLog() does, without its access line.
    app.use(async function requestLogger(c, next) {
      c.set("logger", new LazyRequestLogger(logger, c.get("requestId")));
      await next();
    });
  }
  app.get("/api-error", () => {
    throw new ApiError(409, [
      {
        code: "type_mismatch",
        detail: "data.type must be things",
        source: { pointer: "/data/type" },
      },
      { code: "id_taken", detail: "The id is taken", meta: { id: "t-1" } },
    ], { headers: { "Retry-After": "5", "X-Extra": "yes" } });
  });
  app.get("/api-error-503", () => {
    throw new ApiError(503, { code: "store_unavailable", detail: "The store is unavailable" });
  });
  app.get("/domain/:kind", (c) => {
    const kind = c.req.param("kind") as DomainErrorKind;
    throw new DomainError(kind, `thing_${kind}`, `The thing is ${kind}`, { hint: 1, kind });
  });
  app.get("/domain-without-meta", () => {
    throw new DomainError("conflict", "insufficient_stock", "Not enough stock");
  });
  app.get("/boom", () => {
    throw new Error("secret internals");
  });
  app.get("/type-error", (c) => {
    return c.text((c.req.query("missing") as unknown as { x: string }).x);
  });
  app.get("/impostor", () => {
    throw Object.assign(new Error("secret internals"), { kind: "teapot", code: "teapot" });
  });
  app.get("/things", (c) => c.text("ok", 200));
  app.post("/things", (c) => c.body(null, 201));
  app.all("/things", methodNotAllowed(["GET", "POST"]));
  return { app, lines };
}

Deno.test("errorHandler() renders an ApiError with its status, every error object and its headers", async () => {
  const { app, lines } = testApp();
  const res = await app.request("/api-error", { headers: { "X-Request-ID": "rid-409" } });
  assert.equal(res.status, 409);
  assert.equal(res.headers.get("X-Request-ID"), "rid-409");
  assert.equal(res.headers.get("Retry-After"), "5");
  assert.equal(res.headers.get("X-Extra"), "yes");
  const doc = await jsonApiBody(res);
  assert.deepEqual(doc.errors, [
    {
      status: "409",
      code: "type_mismatch",
      title: "Conflict",
      detail: "data.type must be things",
      source: { pointer: "/data/type" },
    },
    {
      status: "409",
      code: "id_taken",
      title: "Conflict",
      detail: "The id is taken",
      meta: { id: "t-1" },
    },
  ]);
  assert.deepEqual(lines(), [], "a 4xx is not logged");
});

Deno.test("errorHandler() maps a DomainError by kind to its status with code, detail and meta", async () => {
  const { app } = testApp();
  for (const [kind, status, title] of KINDS) {
    const res = await app.request(`/domain/${kind}`, {
      headers: { "X-Request-ID": `rid-${kind}` },
    });
    assert.equal(res.status, status, kind);
    assert.equal(res.headers.get("X-Request-ID"), `rid-${kind}`, kind);
    const doc = await jsonApiBody(res);
    assert.deepEqual(doc.errors, [{
      status: String(status),
      code: `thing_${kind}`,
      title,
      detail: `The thing is ${kind}`,
      // A 5xx also names the request, for the operator a client reports it to.
      meta: status >= 500 ? { hint: 1, kind, request_id: `rid-${kind}` } : { hint: 1, kind },
    }], kind);
    // Nothing was applied on a 503: the client is told when to try again.
    assert.equal(res.headers.get("Retry-After"), status === 503 ? "1" : null, kind);
  }
  const bare = await app.request("/domain-without-meta");
  assert.equal(bare.status, 409);
  const doc = await jsonApiBody(bare);
  assert.equal(doc.errors[0].code, "insufficient_stock");
  assert.ok(!("meta" in doc.errors[0]), "no meta when the error has none");
});

Deno.test("errorHandler() hides an unexpected Error behind a 500 internal_error naming the request id", async () => {
  const { app } = testApp();
  for (const path of ["/boom", "/type-error", "/impostor"]) {
    const res = await app.request(path, { headers: { "X-Request-ID": "req-500" } });
    assert.equal(res.status, 500, path);
    assert.equal(res.headers.get("X-Request-ID"), "req-500", path);
    const text = await res.clone().text();
    const doc = await jsonApiBody(res);
    assert.deepEqual(doc.errors, [{
      status: "500",
      code: "internal_error",
      title: "Internal Server Error",
      detail: "An unexpected error occurred; quote request ID req-500 when reporting it",
      meta: { request_id: "req-500" },
    }], path);
    for (
      const secret of [
        "secret internals",
        "TypeError",
        "undefined",
        "error_handler_test",
        "file://",
      ]
    ) {
      assert.ok(!text.includes(secret), `${path}: neither the message nor the stack (${secret})`);
    }
  }
});

Deno.test("errorHandler() names a generated request id in a 500", async () => {
  const { app } = testApp();
  const res = await app.request("/boom");
  const id = res.headers.get("X-Request-ID");
  assert.match(id ?? "", /^[0-9a-f-]{36}$/);
  const doc = await jsonApiBody(res);
  assert.equal(doc.errors[0].meta.request_id, id);
  assert.ok(doc.errors[0].detail.includes(id!));
});

Deno.test("errorHandler() logs a bug with its stack, a dependency's failure in one line, an overload refusal not at all", async () => {
  const { app, lines } = testApp();
  await (await app.request("/domain/overloaded", { headers: { "X-Request-ID": "req-shed" } }))
    .body?.cancel();
  await (await app.request("/boom", { headers: { "X-Request-ID": "req-boom" } })).body?.cancel();
  await (await app.request("/domain/unavailable", { headers: { "X-Request-ID": "req-dep" } }))
    .body?.cancel();
  await (await app.request("/api-error-503", { headers: { "X-Request-ID": "req-store" } }))
    .body?.cancel();
  const logged = lines();
  assert.deepEqual(
    logged.map((l) => [l.level, l.message, l.request_id, l.error_code]),
    [
      ["ERROR", "unhandled error", "req-boom", "internal_error"],
      ["WARN", "upstream failure", "req-dep", "thing_unavailable"],
      ["WARN", "upstream failure", "req-store", "store_unavailable"],
    ],
  );
  assert.equal(logged[1]!.error, "The thing is unavailable");
  assert.equal(logged[1]!.err, undefined, "no stack for a dependency's failure");
  const err = logged[0]!.err as { message?: string; stack?: string };
  assert.equal(err.message, "secret internals", "the log keeps what the response hides");
  assert.match(err.stack ?? "", /error_handler_test/);
});

Deno.test("errorHandler() logs nothing for a 4xx", async () => {
  const { app, lines } = testApp();
  for (const path of ["/api-error", "/domain/not_found", "/domain/conflict", "/domain/invalid"]) {
    await (await app.request(path)).body?.cancel();
  }
  assert.deepEqual(lines(), []);
});

Deno.test("errorHandler() still renders a 500 when no request logger is set", async () => {
  const { app } = testApp({ withLogger: false });
  const res = await app.request("/boom", { headers: { "X-Request-ID": "req-quiet" } });
  assert.equal(res.status, 500);
  assert.equal((await jsonApiBody(res)).errors[0].meta.request_id, "req-quiet");
});

Deno.test("toApiError() passes an ApiError through and turns anything unknown into a 500", () => {
  const apiError = new ApiError(400, { code: "bad", detail: "Bad" });
  assert.equal(toApiError(apiError, "r"), apiError);
  for (const thrown of ["text", { kind: "not_found", code: "x" }, null, new Error("secret")]) {
    const mapped = toApiError(thrown, "rid-x");
    assert.equal(mapped.status, 500, JSON.stringify(thrown));
    assert.deepEqual(mapped.items, [{
      code: "internal_error",
      detail: "An unexpected error occurred; quote request ID rid-x when reporting it",
      meta: { request_id: "rid-x" },
    }]);
  }
});

Deno.test("notFoundHandler() answers 404 route_not_found naming the path", async () => {
  const { app } = testApp();
  const res = await app.request("/nowhere/1?x=2", { headers: { "X-Request-ID": "rid-404" } });
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("X-Request-ID"), "rid-404");
  const doc = await jsonApiBody(res);
  assert.deepEqual(doc.errors, [{
    status: "404",
    code: "route_not_found",
    title: "Not Found",
    detail: "No route for /nowhere/1",
  }]);
});

Deno.test("methodNotAllowed() answers 405 with Allow listing the path's methods", async () => {
  const { app } = testApp();
  for (const method of ["DELETE", "PATCH", "PUT"]) {
    const res = await app.request("/things", { method, headers: { "X-Request-ID": "rid-405" } });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get("Allow"), "GET, POST", method);
    assert.equal(res.headers.get("X-Request-ID"), "rid-405", method);
    const doc = await jsonApiBody(res);
    assert.deepEqual(doc.errors, [{
      status: "405",
      code: "method_not_allowed",
      title: "Method Not Allowed",
      detail: `${method} is not allowed here; allowed: GET, POST`,
    }], method);
  }
  const allowed = await app.request("/things");
  assert.equal(allowed.status, 200, "the path's own methods still reach their handlers");
  await allowed.body?.cancel();
});

Deno.test("toApiError() treats an error whose kind is an inherited name as unexpected", () => {
  const odd = Object.assign(new Error("odd"), { kind: "constructor", code: "c" });
  assert.equal(toApiError(odd, "rid").status, 500);
});
