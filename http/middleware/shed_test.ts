import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { errorHandler } from "./error_handler.ts";
import { requestId } from "./request_id.ts";
import { shedWrites } from "./shed.ts";

function testApp(full: () => boolean) {
  const seen: string[] = [];
  const app = new Hono<AppEnv>();
  app.onError(errorHandler());
  app.use(requestId());
  app.patch("/x", shedWrites(full), async (c) => {
    seen.push(await c.req.text());
    return c.json({ ok: true });
  });
  return { app, seen };
}

const patch = (headers: Record<string, string> = {}) => ({
  method: "PATCH",
  headers: { "Content-Type": "application/json", ...headers },
  body: '{"a":1}',
});

Deno.test("shedWrites() refuses a write before its body is read when the store is full", async () => {
  const { app, seen } = testApp(() => true);
  const res = await app.request("/x", patch());
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("Retry-After"), "1");
  const doc = await res.json();
  assert.equal(doc.errors[0].code, "overloaded");
  assert.match(doc.errors[0].detail, /nothing was applied/);
  assert.equal(doc.errors[0].meta.request_id, res.headers.get("X-Request-ID"));
  assert.deepEqual(seen, [], "the handler never ran");
});

Deno.test("shedWrites() refuses with the very answer the error handler gives an overload", async () => {
  const { OverloadedError } = await import("@stockroom/kernel");
  const thrown = new Hono<AppEnv>();
  thrown.onError(errorHandler());
  thrown.use(requestId());
  thrown.patch("/x", () => {
    throw new OverloadedError("database");
  });
  for (const id of ["plain-id", 'a "quoted" \\ id']) {
    const headers = { "X-Request-ID": id };
    const [shed, handled] = await Promise.all([
      testApp(() => true).app.request("/x", patch(headers)),
      thrown.request("/x", patch(headers)),
    ]);
    assert.equal(shed.status, handled.status);
    assert.deepEqual([...shed.headers], [...handled.headers]);
    assert.equal(await shed.text(), await handled.text());
  }
});

Deno.test("shedWrites() lets a write through while the store has room", async () => {
  const { app, seen } = testApp(() => false);
  const res = await app.request("/x", patch());
  assert.equal(res.status, 200);
  assert.deepEqual(seen, ['{"a":1}']);
});

Deno.test("shedWrites() lets a keyed write through whatever the load: it may be a replay", async () => {
  let asked = 0;
  const { app, seen } = testApp(() => (asked++, true));
  const res = await app.request("/x", patch({ "Idempotency-Key": "k-1" }));
  assert.equal(res.status, 200);
  assert.deepEqual(seen, ['{"a":1}']);
  assert.equal(asked, 0, "a keyed request does not take a shed off the gate's count");
});
