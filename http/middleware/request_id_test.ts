import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { JSONAPI_MEDIA_TYPE } from "../jsonapi.ts";
import { jsonApiResponse } from "../respond.ts";
import { requestId } from "./request_id.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function testApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestId());
  app.get("/text", (c) => c.text(c.get("requestId"), 200));
  app.get(
    "/document",
    (c) => jsonApiResponse(c, 200, JSON.stringify({ meta: { request_id: c.get("requestId") } })),
  );
  return app;
}

/** What the handler saw as c.get("requestId"), and what the response echoed. */
async function exchange(
  app: Hono<AppEnv>,
  sent?: string,
): Promise<{ seen: string; echoed: string | null }> {
  const headers: Record<string, string> = sent === undefined ? {} : { "X-Request-ID": sent };
  const res = await app.request("/text", { headers });
  return { seen: await res.text(), echoed: res.headers.get("X-Request-ID") };
}

Deno.test("requestId() keeps a printable client id of 1 to 200 characters", async () => {
  const app = testApp();
  const ids = [
    "abc",
    "trace.1:2",
    "0f8fad5b-d9cb-469f-a165-70867728950e",
    "span/7 ?q=a&b=c #x",
    "~!@$%^*()[]{}|<>'\"`",
    "x".repeat(200),
  ];
  for (const id of ids) {
    assert.deepEqual(await exchange(app, id), { seen: id, echoed: id }, id);
  }
});

Deno.test("requestId() trims the whitespace around a client id", async () => {
  assert.deepEqual(await exchange(testApp(), "  trace-7\t"), {
    seen: "trace-7",
    echoed: "trace-7",
  });
});

Deno.test("requestId() replaces an id over 200 characters with a UUID", async () => {
  const { seen, echoed } = await exchange(testApp(), "x".repeat(201));
  assert.match(seen, UUID);
  assert.equal(echoed, seen);
});

Deno.test("requestId() replaces a non-printable or non-ASCII id with a UUID", async () => {
  const app = testApp();
  for (const id of ["a\tb", "a\x7fb", "caf\xe9", "\x01"]) {
    const { seen, echoed } = await exchange(app, id);
    assert.match(seen, UUID, JSON.stringify(id));
    assert.equal(echoed, seen, JSON.stringify(id));
  }
});

Deno.test("requestId() makes a new UUID for each request without an id", async () => {
  const app = testApp();
  const seen = new Set<string>();
  for (const sent of [undefined, undefined, "", "   "]) {
    const result = await exchange(app, sent);
    assert.match(result.seen, UUID, JSON.stringify(sent));
    assert.equal(result.echoed, result.seen);
    seen.add(result.seen);
  }
  assert.equal(seen.size, 4, "every generated id is new");
});

Deno.test('requestId() sets c.get("requestId") to the id jsonApiResponse() echoes', async () => {
  const app = testApp();
  const kept = await app.request("/document", { headers: { "X-Request-ID": "trace.1:2" } });
  assert.equal(kept.headers.get("X-Request-ID"), "trace.1:2");
  assert.equal(kept.headers.get("Content-Type"), JSONAPI_MEDIA_TYPE);
  assert.deepEqual(await kept.json(), { meta: { request_id: "trace.1:2" } });
  const made = await app.request("/document");
  const id = made.headers.get("X-Request-ID");
  assert.match(id ?? "", UUID);
  assert.deepEqual(await made.json(), { meta: { request_id: id } });
});
