import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "./env.ts";
import { jsonApiBody } from "../tests/support/jsonapi.ts";
import { entityTag, ifMatch, ifNoneMatch, notModified, preconditionFailed } from "./conditional.ts";
import { errorHandler } from "./middleware/error_handler.ts";
import { requestId } from "./middleware/request_id.ts";

function app() {
  const a = new Hono<AppEnv>();
  a.onError(errorHandler());
  a.use(requestId());
  a.get("/match", (c) => c.json(ifMatch(c) ?? null));
  a.get("/none-match/:tag", (c) => {
    const etag = entityTag(c.req.param("tag"));
    return ifNoneMatch(c)(etag) ? notModified(c, etag) : c.text("fresh");
  });
  a.get("/stale", () => {
    throw preconditionFailed(entityTag("v7"));
  });
  return a;
}

Deno.test("entityTag() makes a strong tag, with a variant for a partial representation", () => {
  assert.equal(entityTag("v3"), '"v3"');
  assert.equal(entityTag("v3", "f1a2"), '"v3-f1a2"');
});

Deno.test("ifMatch() reads *, lists of strong tags, ignores weak ones, and refuses garbage", async () => {
  const a = app();
  const read = async (value?: string) => {
    const res = await a.request(
      "/match",
      value === undefined ? {} : { headers: { "If-Match": value } },
    );
    return { status: res.status, body: await res.json() };
  };
  assert.deepEqual(await read(), { status: 200, body: null });
  assert.deepEqual(await read("*"), { status: 200, body: { any: true } });
  assert.deepEqual(await read('"v1", W/"v2" ,"v3"'), {
    status: 200,
    body: { any: false, versions: ["v1", "v3"] },
  });
  for (const bad of ["v1", '"v1', "", '"a"b"', '"v1",', 'W/ "x"']) {
    const res = await read(bad);
    assert.equal(res.status, 400, bad);
    assert.deepEqual(res.body.errors[0].source, { header: "If-Match" }, bad);
  }
});

Deno.test("ifNoneMatch() answers 304 with the tag for a match, weak or strong, or *", async () => {
  const a = app();
  for (const value of ['"v2"', 'W/"v2"', '"v1", "v2"', "*"]) {
    const res = await a.request("/none-match/v2", { headers: { "If-None-Match": value } });
    assert.equal(res.status, 304, value);
    assert.equal(res.headers.get("ETag"), '"v2"');
    assert.ok(res.headers.get("X-Request-ID"));
    assert.equal(await res.text(), "");
  }
  const fresh = await a.request("/none-match/v3", { headers: { "If-None-Match": '"v2"' } });
  assert.equal(await fresh.text(), "fresh");
  const bad = await a.request("/none-match/v3", { headers: { "If-None-Match": "v2" } });
  assert.equal(bad.status, 400);
  assert.deepEqual((await jsonApiBody(bad)).errors[0].source, { header: "If-None-Match" });
});

Deno.test("preconditionFailed() is a 412 precondition_failed carrying the current ETag", async () => {
  const res = await app().request("/stale");
  assert.equal(res.status, 412);
  assert.equal(res.headers.get("ETag"), '"v7"');
  const doc = await jsonApiBody(res);
  assert.equal(doc.errors[0].code, "precondition_failed");
});
