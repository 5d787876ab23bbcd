import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { jsonApiBody } from "../../tests/support/jsonapi.ts";
import { API_KEY_HEADER, apiKey } from "./api_key.ts";
import { errorHandler } from "./error_handler.ts";
import { requestId } from "./request_id.ts";

const KEY = "test-key-0123456789";

function testApp() {
  let served = 0;
  const app = new Hono<AppEnv>();
  app.onError(errorHandler());
  app.use(requestId(), apiKey({ key: KEY }));
  app.get("/things", (c) => {
    served++;
    return c.text("ok", 200);
  });
  return { app, served: () => served };
}

/** Asserts a 401 JSON:API document with `detail`, naming the header and never the key. */
async function assertUnauthorized(res: Response, detail: string, label: string): Promise<void> {
  assert.equal(res.status, 401, label);
  assert.equal(res.headers.get("X-Request-ID"), "rid-401", label);
  const doc = await jsonApiBody(res);
  assert.deepEqual(doc.errors, [{
    status: "401",
    code: "unauthorized",
    title: "Unauthorized",
    detail,
    source: { header: "X-API-Key" },
  }], label);
  assert.ok(!JSON.stringify(doc).includes(KEY), `${label}: the key is never echoed`);
}

Deno.test("apiKey() reads the X-API-Key header", () => {
  assert.equal(API_KEY_HEADER, "X-API-Key");
});

Deno.test("apiKey() refuses a missing key with 401 and source.header", async () => {
  const { app, served } = testApp();
  const res = await app.request("/things", { headers: { "X-Request-ID": "rid-401" } });
  await assertUnauthorized(res, "The X-API-Key header is required", "missing");
  assert.equal(served(), 0, "the handler never runs");
});

Deno.test('apiKey() refuses a wrong key with 401 "not valid"', async () => {
  const { app, served } = testApp();
  const wrong: [string, string][] = [
    ["same length, last character changed", KEY.slice(0, -1) + "x"],
    ["same length, first character changed", "T" + KEY.slice(1)],
    ["different case", KEY.toUpperCase()],
    ["a prefix of the key", KEY.slice(0, -1)],
    ["a short prefix of the key", KEY.slice(0, 4)],
    ["the key with more after it", KEY + "0"],
    ["a different length altogether", "x".repeat(64)],
    ["empty", ""],
  ];
  for (const [label, key] of wrong) {
    const res = await app.request("/things", {
      headers: { "X-API-Key": key, "X-Request-ID": "rid-401" },
    });
    await assertUnauthorized(res, "The X-API-Key header is not valid", label);
  }
  assert.equal(served(), 0, "the handler never runs");
});

Deno.test("apiKey() lets the right key through, whatever the header name's case", async () => {
  const { app, served } = testApp();
  for (const name of ["X-API-Key", "x-api-key", "X-Api-Key"]) {
    const res = await app.request("/things", { headers: { [name]: KEY } });
    assert.equal(res.status, 200, name);
    assert.equal(await res.text(), "ok");
  }
  assert.equal(served(), 3);
});
