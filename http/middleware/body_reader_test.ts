import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { jsonApiBody } from "../../tests/support/jsonapi.ts";
import { jsonApiBodyReader } from "./body_reader.ts";
import { errorHandler } from "./error_handler.ts";
import { requestId } from "./request_id.ts";

const encode = (text: string) => new TextEncoder().encode(text);

function testApp() {
  let served = 0;
  const app = new Hono<AppEnv>();
  app.onError(errorHandler());
  app.use(requestId(), jsonApiBodyReader());
  app.on(["POST", "PATCH"], "/things", async (c) => {
    served++;
    return c.body(JSON.stringify({ received: await c.req.json() }), 200, {
      "Content-Type": "application/json",
    });
  });
  app.on(["GET", "DELETE"], "/things", async (c) => {
    served++;
    return c.text(`unread: ${await c.req.text()}`, 200);
  });
  return { app, served: () => served };
}

async function assertMalformed(res: Response, detail: string, label: string): Promise<void> {
  assert.equal(res.status, 400, label);
  const doc = await jsonApiBody(res);
  assert.deepEqual(doc.errors, [{
    status: "400",
    code: "invalid_document",
    title: "Bad Request",
    detail,
    source: { pointer: "" },
  }], label);
}

Deno.test('jsonApiBodyReader() refuses invalid UTF-8 with 400 invalid_document at pointer ""', async () => {
  const { app, served } = testApp();
  const bodies: [string, number[]][] = [
    ["a lone 0xff byte", [0xff]],
    ["an overlong encoding of /", [0xc0, 0xaf]],
    ["an encoded surrogate", [0xed, 0xa0, 0x80]],
    ["a truncated sequence", [0xe2, 0x82]],
  ];
  for (const method of ["POST", "PATCH"]) {
    for (const [label, bytes] of bodies) {
      const body = new Uint8Array([...encode('{"name":"'), ...bytes, ...encode('"}')]);
      const res = await app.request("/things", { method, body });
      await assertMalformed(res, "The request body is not valid UTF-8", `${method} ${label}`);
    }
  }
  assert.equal(served(), 0, "the handler never runs");
});

Deno.test("jsonApiBodyReader() refuses a body that is not JSON with 400 invalid_document", async () => {
  const { app, served } = testApp();
  for (const method of ["POST", "PATCH"]) {
    for (const body of ["", "not json", "{", "{'data':1}", "[1,]", '{"a":1}{"b":2}']) {
      const res = await app.request("/things", { method, body: encode(body) });
      await assertMalformed(res, "The request body is not valid JSON", `${method} ${body}`);
    }
  }
  assert.equal(served(), 0, "the handler never runs");
});

Deno.test("jsonApiBodyReader() parses a valid body before the handler, and c.req.json() returns it", async () => {
  const parse = JSON.parse;
  let parses = 0;
  let parsesBeforeHandler = -1;
  const app = new Hono<AppEnv>();
  app.onError(errorHandler());
  app.use(requestId(), jsonApiBodyReader());
  app.post("/things", async (c) => {
    parsesBeforeHandler = parses;
    const body = await c.req.json();
    return c.body(JSON.stringify({ received: body }), 200, { "Content-Type": "application/json" });
  });
  const document = { data: { type: "things", attributes: { name: "Café ☕ 𝄞", n: 1.5 } } };
  JSON.parse = function countingParse(...args: Parameters<typeof JSON.parse>) {
    parses++;
    return parse(...args);
  };
  let res: Response;
  try {
    res = await app.request("/things", {
      method: "POST",
      body: encode(JSON.stringify(document)),
    });
  } finally {
    JSON.parse = parse;
  }
  assert.equal(res.status, 200);
  assert.equal(parsesBeforeHandler, 1, "the reader parses the body once");
  assert.deepEqual(await res.json(), { received: document });
});

Deno.test("jsonApiBodyReader() passes any JSON value on to c.req.json()", async () => {
  const { app } = testApp();
  for (const value of [{}, [], null, 0, "text", { nested: { list: [1, "2", false] } }]) {
    const res = await app.request("/things", {
      method: "PATCH",
      body: encode(JSON.stringify(value)),
    });
    assert.equal(res.status, 200, JSON.stringify(value));
    assert.deepEqual(await res.json(), { received: value });
  }
});

Deno.test("jsonApiBodyReader() leaves GET and DELETE requests unread", async () => {
  const { app, served } = testApp();
  const get = await app.request("/things");
  assert.equal(get.status, 200);
  assert.equal(await get.text(), "unread: ");
  const del = await app.request("/things", { method: "DELETE", body: encode("not json \xff") });
  assert.equal(del.status, 200, "a DELETE body is neither decoded nor parsed");
  assert.equal(await del.text(), "unread: not json \xff");
  assert.equal(served(), 2);
});
